"""BBQ, the Bias Benchmark for QA (Parrish et al., 2022; CC BY 4.0): three-way multiple choice about
people of two social groups, where a stereotype would suggest one of them.

Each row is a context (ambiguous: the answer cannot be known; disambiguated: it can), a question
(negative, "Who was forgetful?", or not, "Who was not forgetful?") and three answers: a member of
the stereotyped group (the *target*), a member of the other group, and "unknown" (in several
wordings). The instance's input is HELM's: `<context>\\nQuestion: <question>`; its references are
ans0..ans2, the correct one tagged `correct`. Every reference also carries the row's polarity and
context condition, and its own role (target, non-target, unknown; left out when the row does not
name exactly one stereotyped answer), which is all the scores of metrics/bbq.py need. Each instance's sub-split is its category, so stats come per category too.

Files: `<data_dir>/bbq/<Category>.jsonl`, downloaded from the BBQ repository when missing and
checked against the published sha256 (SHA256 below: the six categories of ../shared/data); the
others' sha256 is recorded at the first download (SHA256SUMS in the folder) and checked from then on. `categories` defaults to the categories whose files are present,
or all 11 when none is. Splits as in HELM: the rows of the chosen categories, shuffled with a fixed
seed, give `test_size` test instances and the rest are train (the pool of in-context examples).
"""

import logging
import random
from pathlib import Path
from typing import Any, Optional

from crfm_eval.errors import UserError
from crfm_eval.scenarios.checksums import staged_files, verify
from crfm_eval.scenarios.download import DataFile, download_file, ensure_data_file, read_jsonl
from crfm_eval.scenarios.scenario import TEST_SPLIT, TRAIN_SPLIT, Scenario
from crfm_eval.specs import MetricSpec
from crfm_eval.states import CORRECT_TAG, Instance, Reference

log = logging.getLogger(__name__)

URL = "https://raw.githubusercontent.com/nyu-mll/BBQ/main/data/{}.jsonl"
CATEGORIES = (
    "Age",
    "Disability_status",
    "Gender_identity",
    "Nationality",
    "Physical_appearance",
    "Race_ethnicity",
    "Race_x_SES",
    "Race_x_gender",
    "Religion",
    "SES",
    "Sexual_orientation",
)
SHA256 = {
    "Age": "46e805b3fc2d8cbd26eeb8e8430d98cf7b2dc9c83574ff3674e8ce4f0fca2a60",
    "Disability_status": "375d40d9b71f056150264445ec189b13934998f3f49a1e311aa7578eb3b45e5f",
    "Nationality": "a583e74666aec0341ded8aa3983e7cad694eb24de72c254d28b2df3035720090",
    "Physical_appearance": "e48d7e13508565f4801574e611043470c25c95a0a62af3699cb5ee7cb02608fb",
    "Religion": "cb9555f9f3454a52cd2df85956b59bd7fcca5aa922c8527693b1164d08417616",
    "Sexual_orientation": "2c71036b9e7584fe589c42aef32c1a42bc01b9a5e9b1b8704342630cdb08cefd",
}
"""Of the files at commit bea11bd97d79217245b5871acd247b9d6eb24598 (see ../shared/data/bbq/SOURCE.md)."""

SHUFFLE_SEED = 0
DEFAULT_TEST_SIZE = 1000

# Reference tags (the prefix keeps them apart from other scenarios' tags).
NEGATIVE, NON_NEGATIVE = "bbq:negative", "bbq:non_negative"
AMBIGUOUS, DISAMBIGUATED = "bbq:ambiguous", "bbq:disambiguated"
TARGET, NON_TARGET, UNKNOWN = "bbq:target", "bbq:non_target", "bbq:unknown"


def _normalized(text: str) -> str:
    return "".join(text.lower().split())


def answer_roles(row: dict[str, Any]) -> Optional[list[str]]:
    """TARGET, NON_TARGET or UNKNOWN for ans0..ans2; None when the stereotyped answer is not exactly one.

    An answer is the target when its text or group label names a stereotyped group (ignoring case
    and spaces: "low SES" is "lowSES"); failing that, when a part of an intersectional label does
    ("M-Black", and for Race_x_SES only a low-SES label such as "lowSES-F-Black").
    """
    groups = {_normalized(group) for group in row["additional_metadata"]["stereotyped_groups"]}
    infos = [row["answer_info"][f"ans{index}"] for index in range(3)]
    unknown = [info[1] == "unknown" for info in infos]

    def exact(info: list[str]) -> bool:
        return any(_normalized(value) in groups for value in info)

    def partial(info: list[str]) -> bool:
        label = info[1]
        if row.get("category") == "Race_x_SES" and not label.startswith("lowSES"):
            return False
        return any(_normalized(part) in groups for part in label.split("-"))

    for matches in (exact, partial):
        targets = [not unknown[i] and matches(info) for i, info in enumerate(infos)]
        if sum(targets) == 1 and sum(unknown) == 1:
            return [UNKNOWN if unknown[i] else TARGET if targets[i] else NON_TARGET for i in range(3)]
    return None


def bbq_instance(row: dict[str, Any], category: str, split: str) -> tuple[Instance, bool]:
    """The instance of one row, and whether its answers' roles are known (else no bias tags)."""
    polarity = NEGATIVE if row["question_polarity"] == "neg" else NON_NEGATIVE
    condition = AMBIGUOUS if row["context_condition"] == "ambig" else DISAMBIGUATED
    roles = answer_roles(row)
    references = []
    for index in range(3):
        tags = [CORRECT_TAG] if index == row["label"] else []
        tags += [polarity, condition] if roles is None else [polarity, condition, roles[index]]
        references.append(Reference(row[f"ans{index}"], tags))
    text = f"{row['context']}\nQuestion: {row['question']}"
    return Instance(f"{category}-{row['example_id']}", text, references, split, sub_split=category), roles is not None


class BBQScenario(Scenario):
    # Accuracy by context condition and the bias scores, whichever method asks the model.
    metric_specs = (MetricSpec(_target_="crfm_eval.metrics.bbq.BBQMetric", args={}, name="bbq"),)

    def __init__(
        self, categories: Optional[list[str]] = None, test_size: int = DEFAULT_TEST_SIZE, base_url: str = URL
    ) -> None:
        """`categories`: BBQ's file names (e.g. [Age, Religion]); default: those present, or all 11.
        `base_url`: where `<Category>.jsonl` is downloaded from ({} is the category), e.g. a mirror."""
        unknown = sorted(set(categories or []) - set(CATEGORIES))
        if unknown:
            raise UserError(
                f"scenario.args.categories has unknown BBQ categories {unknown}; use some of {list(CATEGORIES)}."
            )
        if test_size < 1:
            raise UserError(f"scenario.args.test_size must be at least 1, not {test_size}.")
        self.categories = list(categories) if categories else None
        self.test_size = test_size
        self.base_url = base_url

    def chosen_categories(self, folder: Path) -> list[str]:
        if self.categories:
            return self.categories
        present = [category for category in CATEGORIES if (folder / f"{category}.jsonl").exists()]
        return present or list(CATEGORIES)

    def get_instances(self, data_dir: Path) -> list[Instance]:
        folder = data_dir / "bbq"
        rows: list[tuple[dict[str, Any], str]] = []
        for category in self.chosen_categories(folder):
            path = self._file(folder, category)
            for line_number, row in read_jsonl(path):
                missing = [name for name in REQUIRED_FIELDS if name not in row]
                if missing or row.get("label") not in (0, 1, 2):
                    raise UserError(
                        f"{path} line {line_number} is not a BBQ row (missing {missing or 'a label of 0, 1 or 2'}); "
                        "replace the file with the original from the BBQ repository."
                    )
                rows.append((row, category))
        random.Random(SHUFFLE_SEED).shuffle(rows)
        num_train = max(0, len(rows) - self.test_size)
        instances, without_roles = [], 0
        for index, (row, category) in enumerate(rows):
            instance, has_roles = bbq_instance(row, category, TRAIN_SPLIT if index < num_train else TEST_SPLIT)
            instances.append(instance)
            without_roles += not has_roles
        if without_roles:
            log.warning(
                "%d BBQ rows name no single stereotyped answer: they count for accuracy, not bias.", without_roles
            )
        return instances

    def _file(self, folder: Path, category: str) -> Path:
        name, url = f"{category}.jsonl", self.base_url.format(category)
        sha256 = SHA256.get(category)
        if sha256 is not None:
            return ensure_data_file(folder, DataFile(name, [url], sha256))
        # No published sha256: downloaded once with its sha256 recorded in SHA256SUMS, checked from then on.
        if not (folder / name).exists():
            with staged_files(folder, {}) as stage:
                download_file(stage, DataFile(name, [url], None))
        if verify(folder, [name], {}):
            log.warning(
                "%s has no recorded sha256 (it was not downloaded by crfm_eval) and is used unchecked.", folder / name
            )
        return folder / name


REQUIRED_FIELDS = (
    "example_id",
    "question_polarity",
    "context_condition",
    "answer_info",
    "additional_metadata",
    "context",
    "question",
    "ans0",
    "ans1",
    "ans2",
    "label",
)
