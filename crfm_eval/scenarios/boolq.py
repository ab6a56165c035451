"""BoolQ (Clark et al., 2019): yes/no questions about a Wikipedia passage. License: CC BY-SA 3.0."""

from pathlib import Path

from crfm_eval.errors import UserError
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


class BoolQScenario(Scenario):
    """Instances from BoolQ's train and dev files; dev is the `valid` split (test has no labels).

    Each instance has both answers as references, the false one first (lm-eval's choice order),
    the right one tagged correct.
    """

    def __init__(self, capitalize_question: bool = True, yes_text: str = "Yes", no_text: str = "No") -> None:
        """`capitalize_question`: HELM's input (True) or lm-eval's question as written (False);
        `yes_text` / `no_text`: the references' texts (lm-eval's are `yes` / `no`)."""
        self.capitalize_question = capitalize_question
        self.yes_text, self.no_text = yes_text, no_text

    def get_instances(self, data_dir: Path) -> list[Instance]:
        folder = data_dir / "boolq"
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
                references = [
                    Reference(self.no_text, [] if answer else [CORRECT_TAG]),
                    Reference(self.yes_text, [CORRECT_TAG] if answer else []),
                ]
                text = boolq_input(passage, question, self.capitalize_question)
                instances.append(Instance(f"{split}-{line_number - 1}", text, references, split))
        return instances
