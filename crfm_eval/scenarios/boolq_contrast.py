"""BoolQ contrast sets (Gardner et al., 2020): 69 BoolQ dev questions, each with questions a person
perturbed so that the answer may change (the file states no license; the passages are BoolQ's,
CC BY-SA 3.0).

The file is `<data_dir>/boolq/contrast_sets/boolq_perturbed.json` (HELM reads the same one): a JSON
object whose "data" list starts with a header row, then one item per original question with its
"perturbed_questions" ({"perturbed_q", "answer": "TRUE"|"FALSE"}). Five perturbations have neither
a question nor an answer and are skipped.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from crfm_eval.errors import UserError
from crfm_eval.scenarios.download import DataFile, ensure_data_file

CONTRAST_FILE = DataFile(
    "boolq_perturbed.json",
    [
        "https://raw.githubusercontent.com/allenai/contrast-sets/main/BoolQ/boolq_perturbed.json",
        # The same file at the commit whose sha256 is recorded, should `main` move.
        "https://raw.githubusercontent.com/allenai/contrast-sets/e2b87316ba7b30093bc9ffbc340e6550cab79f67/BoolQ/boolq_perturbed.json",
    ],
    "0b4505e885d99fba40ff3d5a1f70d26839eb444cfe21d07cbf571c52f967c536",
)
ANSWERS = {"TRUE": True, "FALSE": False}


@dataclass(frozen=True)
class Perturbation:
    question: str
    answer: bool


@dataclass(frozen=True)
class ContrastSet:
    """An original dev question (as written in dev.jsonl) and its labelled perturbations."""

    question: str
    answer: bool
    perturbations: list[Perturbation]


def read_contrast_sets(boolq_folder: Path, flipped_only: bool) -> dict[str, ContrastSet]:
    """Original question -> its contrast set; `flipped_only` keeps only perturbations whose answer
    differs from the original's (as HELM does); sets left with no perturbation are dropped."""
    path = ensure_data_file(boolq_folder / "contrast_sets", CONTRAST_FILE)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))["data"][1:]
        sets = {}
        for item in items:
            answer = ANSWERS[item["answer"]]
            perturbations = [
                Perturbation(perturbed["perturbed_q"].strip(), ANSWERS[perturbed["answer"]])
                for perturbed in item["perturbed_questions"]
                if perturbed["answer"] in ANSWERS and perturbed["perturbed_q"].strip()
            ]
            if flipped_only:
                perturbations = [p for p in perturbations if p.answer != answer]
            if perturbations:
                sets[item["question"]] = ContrastSet(item["question"], answer, perturbations)
    except (ValueError, KeyError, TypeError) as error:
        raise UserError(f"{path} is not the contrast-set file ({type(error).__name__}: {error}); delete it.") from None
    return sets
