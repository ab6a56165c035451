"""MMLU (Hendrycks et al., 2021): four-option questions on 57 subjects. License: MIT.

Files: `<data_dir>/mmlu/{dev,val,test}/<subject>_<split>.csv`, as in the original release (no header;
`question,A,B,C,D,answer` with the answer a letter). `dev` holds each subject's 5 in-context
examples (the `train` split here), `val` the `valid` split, `test` the `test` split. Each instance's
sub-split is its subject: its in-context examples come from its own subject, the instructions can
name it, and the stats are reported per subject and as the macro average over subjects.

When files are missing, the original `data.tar` is downloaded once (checked against the sha256 that
lm-evaluation-harness recorded for it), its dev/val/test CSVs are installed, and the archive is
deleted. Ten files have a canonical sha256 (those of ../shared/data/mmlu, see its SOURCE.md); every
other file is checked against the sha256 recorded in `mmlu/SHA256SUMS` when it was installed.
"""

import csv
import difflib
import logging
import re
import shutil
import tarfile
from pathlib import Path
from typing import Optional, Union

from crfm_eval.errors import UserError
from crfm_eval.scenarios.checksums import staged_files, verify
from crfm_eval.scenarios.download import DataFile, ensure_data_file
from crfm_eval.scenarios.scenario import TEST_SPLIT, TRAIN_SPLIT, VALID_SPLIT, Scenario
from crfm_eval.states import CORRECT_TAG, Instance, Reference

log = logging.getLogger(__name__)

ARCHIVE = DataFile(
    "data.tar",
    ["https://people.eecs.berkeley.edu/~hendrycks/data.tar"],
    # As recorded by EleutherAI's lm-evaluation-harness (lm_eval/tasks/hendrycks_test.py, 2021).
    "78a804365a59028188fb19bd1adcadc5e0c260b220a9d8b2e33a5ea7d5fbe3b4",
)

KNOWN_SHA256 = {
    "test/abstract_algebra_test.csv": "4be89c0fb1d2419722e88880f6da3da95750367185ecd36f6492a6f74785cf64",
    "test/anatomy_test.csv": "966dfd5c4579885ebdb8c05d6754ae5834f672632586d8595be3c0f9360e6f4e",
    "test/astronomy_test.csv": "87c9c3cb5a55395c70dd9ed521dd7d2629fd4ff236c5ab647102e007f52a9341",
    "test/college_computer_science_test.csv": "d53a1d0d1c4362dacf92a4ff1d6a755beb5a87f24a7301c3c4391fcacc6530b4",
    "test/high_school_mathematics_test.csv": "fe8f7a154834bba30947401ba37ea6c7afdcfba82ddc341c79b5d3016991d290",
    "dev/abstract_algebra_dev.csv": "bd8c73f3c75bea9db82d281d9da6949cea687b987dba24a142c638e758046624",
    "dev/anatomy_dev.csv": "0985685cf5ab13ccc1629f03a1308a9add8767582ffeb195b68b18c3415c9993",
    "dev/astronomy_dev.csv": "bb03eca519a3fbc04017dc4783635763ac928f0811ce6243dbcbf0d526dbe1e3",
    "dev/college_computer_science_dev.csv": "fc1a43187cd68390d663e0a1849688b13a4cd75ab17616558f4e584a4a8ae2bd",
    "dev/high_school_mathematics_dev.csv": "d7401d5cbad5ae697bfa480e35d85de8ebf1232589a3c59b010782ee49cbe18c",
}
"""The files whose sha256 is known beforehand (../shared/data/mmlu/SOURCE.md)."""

SUBJECTS = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
    "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
    "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
    "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
    "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
    "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
    "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
    "world_religions",
)  # fmt: skip

FILE_SPLITS = {"dev": TRAIN_SPLIT, "val": VALID_SPLIT, "test": TEST_SPLIT}
"""The release's folder names and the splits they become."""
REQUIRED_FILES = ("dev", "test")
"""A subject is present when it has these; `val` is read when it is there."""
LETTERS = "ABCD"
_MEMBER = re.compile(r"data/(dev|val|test)/([a-z_]+)_(dev|val|test)\.csv")


def _relative(subject: str, kind: str) -> str:
    return f"{kind}/{subject}_{kind}.csv"


def _check_subjects(subjects: list[str]) -> list[str]:
    for subject in subjects:
        if subject not in SUBJECTS:
            close = difflib.get_close_matches(subject, SUBJECTS, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UserError(
                f"scenario.args.subjects names {subject!r}, which is not an MMLU subject{hint}; "
                "the 57 subjects are listed in the README (null for all of them)."
            )
    return subjects


class MMLUScenario(Scenario):
    """The questions of the chosen subjects (all 57 by default), one sub-split per subject."""

    def __init__(self, subjects: Optional[Union[list[str], str]] = None) -> None:
        self.explicit = subjects is not None
        chosen = [subjects] if isinstance(subjects, str) else list(subjects or SUBJECTS)
        self.subjects = _check_subjects(sorted(set(chosen), key=chosen.index))

    def get_instances(self, data_dir: Path) -> list[Instance]:
        folder = data_dir / "mmlu"
        subjects = self._present_subjects(folder)
        relatives = [
            _relative(subject, kind)
            for subject in subjects
            for kind in FILE_SPLITS
            if (folder / _relative(subject, kind)).exists()
        ]
        unchecked = verify(folder, relatives, KNOWN_SHA256)
        if unchecked:
            log.warning(
                "%d MMLU files in %s have no known or recorded sha256 (not installed by crfm_eval) and are used "
                "unchecked, e.g. %s.",
                len(unchecked),
                folder,
                unchecked[0],
            )
        instances = []
        for subject in subjects:
            for kind, split in FILE_SPLITS.items():
                path = folder / _relative(subject, kind)
                if path.exists():
                    instances += _read_subject_file(path, subject, split)
        return instances

    def _present_subjects(self, folder: Path) -> list[str]:
        """The chosen subjects whose files are here, after installing the release if some are not."""

        def missing() -> list[str]:
            return [s for s in self.subjects if any(not (folder / _relative(s, k)).exists() for k in REQUIRED_FILES)]

        absent = missing()
        if not absent:
            return self.subjects
        try:
            install_release(folder)
        except UserError as error:
            if self.explicit or len(absent) == len(self.subjects):
                raise UserError(f"{folder} lacks the MMLU files of {', '.join(absent)}, and {error}") from None
            present = [subject for subject in self.subjects if subject not in absent]
            log.warning(
                "MMLU: %d of %d subjects are missing from %s and the release could not be fetched (%s); "
                "evaluating the %d present: %s.",
                len(absent),
                len(self.subjects),
                folder,
                error,
                len(present),
                ", ".join(present),
            )
            return present
        still_absent = missing()
        if still_absent:
            raise UserError(
                f"The MMLU release has no files for {', '.join(still_absent)}; check scenario.args.subjects."
            )
        return self.subjects


def install_release(folder: Path) -> None:
    """Download data.tar (or use a copy already in `folder`), install its dev/val/test CSVs, delete it."""
    archive = ensure_data_file(folder, ARCHIVE)
    with staged_files(folder, KNOWN_SHA256) as stage:
        try:
            with tarfile.open(archive) as tar:
                for member in tar:
                    match = _MEMBER.fullmatch(member.name)
                    if not (member.isfile() and match and match[1] == match[3] and match[2] in SUBJECTS):
                        continue
                    # The target path is built from the checked name, never taken from the archive.
                    target = stage / _relative(match[2], match[1])
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(member) as source, target.open("wb") as handle:  # type: ignore[union-attr]
                        shutil.copyfileobj(source, handle)
        except (tarfile.TarError, OSError) as error:
            raise UserError(f"{archive} cannot be unpacked ({error}); delete it to download it again.") from None
    archive.unlink()


def _read_subject_file(path: Path, subject: str, split: str) -> list[Instance]:
    instances = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            for index, row in enumerate(reader):
                where = f"{path} line {reader.line_num}"
                if len(row) != 2 + len(LETTERS):
                    raise UserError(
                        f"{where} has {len(row)} columns, not 6 (question, A, B, C, D, answer); "
                        "replace the file with a good copy (or delete it to download it again)."
                    )
                question, options, answer = row[0], row[1:-1], row[-1].strip()
                if answer not in LETTERS:
                    raise UserError(f"{where}: the answer {answer!r} is not one of A, B, C, D; replace the file.")
                references = [
                    Reference(option, [CORRECT_TAG] if letter == answer else [])
                    for letter, option in zip(LETTERS, options, strict=True)
                ]
                instances.append(Instance(f"{split}-{subject}-{index}", question, references, split, sub_split=subject))
    except (csv.Error, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not a readable UTF-8 CSV file ({error}); replace it with a good copy.") from None
    return instances
