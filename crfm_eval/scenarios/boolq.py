"""BoolQ (Clark et al., 2019): yes/no questions about a Wikipedia passage. License: CC BY-SA 3.0."""

from pathlib import Path

from crfm_eval.errors import UserError
from crfm_eval.scenarios.boolq_contrast import ContrastSet, read_contrast_sets
from crfm_eval.scenarios.download import DataFile, ensure_data_file, read_jsonl
from crfm_eval.scenarios.scenario import TRAIN_SPLIT, VALID_SPLIT, Scenario
from crfm_eval.states import CORRECT_TAG, Instance, Reference

# HELM's current mirror first, then the original release.
MIRROR_URL = "https://huggingface.co/datasets/stanford-crfm/helm-scenarios/resolve/main/boolq/{}"
ORIGINAL_URL = "https://storage.googleapis.com/boolq/{}"


def _boolq_file(name: str, sha256: str, stand_ins: list[str]) -> DataFile:
    return DataFile(name, [MIRROR_URL.format(name), ORIGINAL_URL.format(name)], sha256, stand_ins)


# sha256 values of the canonical files (see the data set's SOURCE.md).
SPLIT_FILES = {
    TRAIN_SPLIT: _boolq_file(
        "train.jsonl",
        "cc7a79d44479867e8323a7b0c5c1d82edf516ca34912201f9384c3a3d098d8db",
        stand_ins=["train_head1500.jsonl"],
    ),
    VALID_SPLIT: _boolq_file("dev.jsonl", "ebc29ea3808c5c611672384b3de56e83349fe38fc1fe876fd29b674d81d0a80a", []),
}


def boolq_input(passage: str, question: str, capitalize: bool = True) -> str:
    """HELM's BoolQ input: the passage, then the question with a capital first letter and a '?'
    (lm-evaluation-harness keeps the question as written: `capitalize=False`)."""
    question = question.strip() if capitalize else question
    if capitalize:
        question = question[:1].upper() + question[1:]
    return f"{passage}\nQuestion: {question}?"


ORIGINAL = "original"
PERTURBED = "perturbed"
"""The sub-splits of a run with contrast sets."""


class BoolQScenario(Scenario):
    """Instances from BoolQ's train and dev files; dev is the `valid` split (test has no labels).

    Each instance has both answers as references, the false one first (lm-eval's choice order),
    the right one tagged correct.

    With `contrast_sets`, the valid split holds the dev questions that have a contrast set (sub-split
    `original`) and their perturbations (sub-split `perturbed`), each tagged with its set, so that
    the run reports accuracy on each and the consistency of the sets. `contrast_flipped_only` keeps
    only the perturbations whose answer differs from the original's, as HELM does.
    """

    def __init__(
        self,
        capitalize_question: bool = True,
        yes_text: str = "Yes",
        no_text: str = "No",
        contrast_sets: bool = False,
        contrast_flipped_only: bool = False,
        title_in_passage: bool = False,
    ) -> None:
        """`capitalize_question`: HELM's input (True) or lm-eval's question as written (False);
        `yes_text` / `no_text`: the references' texts (lm-eval's are `yes` / `no`);
        `title_in_passage`: the passage as SuperGLUE's BoolQ files give it, which lm-eval reads
        (through Hugging Face's `super_glue`): `<Wikipedia title> -- <passage>` (see SOURCE.md)."""
        self.capitalize_question = capitalize_question
        self.yes_text, self.no_text = yes_text, no_text
        self.contrast_sets = contrast_sets
        self.contrast_flipped_only = contrast_flipped_only
        self.title_in_passage = title_in_passage

    def get_instances(self, data_dir: Path) -> list[Instance]:
        folder = data_dir / "boolq"
        contrast = read_contrast_sets(folder, self.contrast_flipped_only) if self.contrast_sets else None
        instances = []
        for split, data_file in SPLIT_FILES.items():
            path = ensure_data_file(folder, data_file)
            for line_number, row in read_jsonl(path):
                try:
                    passage, question, answer = row["passage"], row["question"], row["answer"]
                except KeyError as missing:
                    raise UserError(
                        f"{path} line {line_number} has no {missing} field; replace the file with a good copy."
                    ) from None
                if not isinstance(answer, bool):
                    raise UserError(f"{path} line {line_number}: 'answer' must be true or false, not {answer!r}.")
                if self.title_in_passage:
                    passage = f"{row.get('title', '')} -- {passage}"
                instance_id = f"{split}-{line_number - 1}"
                if contrast is None or split == TRAIN_SPLIT:
                    instances.append(
                        Instance(instance_id, self._input(passage, question), self._answers(answer), split)
                    )
                elif question in contrast:
                    instances += self._contrast_instances(instance_id, passage, contrast.pop(question), answer, path)
        if contrast:
            raise UserError(
                f"{len(contrast)} contrast-set questions are not in {folder / 'dev.jsonl'} (e.g. "
                f"{next(iter(contrast))!r}); use the canonical dev.jsonl."
            )
        return instances

    def _input(self, passage: str, question: str) -> str:
        return boolq_input(passage, question, self.capitalize_question)

    def _answers(self, answer: bool) -> list[Reference]:
        return [
            Reference(self.no_text, [] if answer else [CORRECT_TAG]),
            Reference(self.yes_text, [CORRECT_TAG] if answer else []),
        ]

    def _contrast_instances(
        self, instance_id: str, passage: str, contrast_set: ContrastSet, answer: bool, path: Path
    ) -> list[Instance]:
        """The original dev question and its perturbations, all in the set named by the original's id."""
        if contrast_set.answer != answer:
            raise UserError(f"{path} answers {contrast_set.question!r} differently from the contrast-set file.")
        original = Instance(
            instance_id,
            self._input(passage, contrast_set.question),
            self._answers(answer),
            VALID_SPLIT,
            sub_split=ORIGINAL,
            contrast_set=instance_id,
        )
        perturbed = [
            Instance(
                f"{instance_id}-contrast-{index}",
                self._input(passage, perturbation.question),
                self._answers(perturbation.answer),
                VALID_SPLIT,
                sub_split=PERTURBED,
                contrast_set=instance_id,
            )
            for index, perturbation in enumerate(contrast_set.perturbations)
        ]
        return [original, *perturbed]
