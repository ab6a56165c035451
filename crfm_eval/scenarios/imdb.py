"""IMDB (Maas et al., 2011): movie reviews labelled Positive or Negative. Terms: cite the paper (no license given).

Files in `<data_dir>/imdb/`: `train.jsonl` and `test.jsonl`, one review a line,
`{"id": "test/pos/0_10.txt", "text": ..., "label": 0|1, "rating": int}` (label 1 = positive). They are
made once from the original `aclImdb_v1.tar.gz` (25,000 reviews per split; its sha256 is checked,
the JSONL files' sha256 recorded in `imdb/SHA256SUMS`).

Offline, `test_sample.jsonl` (1,000 test reviews, the same format; see ../shared/data/imdb) stands in
for the test split, with a warning. In-context examples then come from `train_file` when it is
given; otherwise 100 reviews of the sample (50 of each label, always the same) are set apart as the
train split and the other 900 are evaluated, so an eval review is never its own example.
"""

import json
import logging
import random
import re
import tarfile
from pathlib import Path
from typing import Any, Optional

from crfm_eval.errors import UserError
from crfm_eval.scenarios.checksums import staged_files, verify
from crfm_eval.scenarios.download import DataFile, ensure_data_file, read_jsonl
from crfm_eval.scenarios.scenario import TEST_SPLIT, TRAIN_SPLIT, Scenario
from crfm_eval.states import CORRECT_TAG, Instance, Reference

log = logging.getLogger(__name__)

ARCHIVE = DataFile(
    "aclImdb_v1.tar.gz",
    ["https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"],
    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
)
SAMPLE_FILE = "test_sample.jsonl"
KNOWN_SHA256 = {SAMPLE_FILE: "8aa90a64d13242ffbb3f395b2b4573e20427d96b630def8d05cbfebbf66159b7"}
SPLIT_FILES = {TRAIN_SPLIT: "train.jsonl", TEST_SPLIT: "test.jsonl"}
LABELS = ("Negative", "Positive")
"""HELM's answers; label 0 is Negative, 1 is Positive. Both are references, the right one tagged."""
SAMPLE_TRAIN_PER_LABEL = 50
_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/(\d+)_(\d+)\.txt")


class IMDBScenario(Scenario):
    """Sentiment of the test reviews, with train reviews for in-context examples."""

    def __init__(self, train_file: Optional[str] = None) -> None:
        self.train_file = train_file

    def get_instances(self, data_dir: Path) -> list[Instance]:
        folder = data_dir / "imdb"
        test_path = folder / SPLIT_FILES[TEST_SPLIT]
        sample_path = folder / SAMPLE_FILE
        if not test_path.exists() and sample_path.exists():
            verify(folder, [SAMPLE_FILE], KNOWN_SHA256)
            log.warning("%s is absent; using the 1,000-review sample %s instead.", test_path, sample_path)
            sample = _read_reviews(sample_path, TEST_SPLIT)
            if self.train_file:
                return self._named_train() + sample
            train = _train_from_sample(sample)
            set_apart = {instance.id for instance in train}
            return train + [instance for instance in sample if instance.id not in set_apart]
        if not test_path.exists():
            install_release(folder)
        unchecked = verify(folder, [name for name in SPLIT_FILES.values() if (folder / name).exists()], KNOWN_SHA256)
        if unchecked:
            log.warning("%s have no recorded sha256 (not made by crfm_eval) and are used unchecked.", unchecked)
        if self.train_file:
            train = self._named_train()
        elif (folder / SPLIT_FILES[TRAIN_SPLIT]).exists():
            train = _read_reviews(folder / SPLIT_FILES[TRAIN_SPLIT], TRAIN_SPLIT)
        else:
            raise UserError(
                f"{folder / SPLIT_FILES[TRAIN_SPLIT]} is missing beside {test_path}; name a file of reviews with "
                "scenario.args.train_file=..., or delete test.jsonl to download the release again."
            )
        return train + _read_reviews(test_path, TEST_SPLIT)

    def _named_train(self) -> list[Instance]:
        path = Path(str(self.train_file))
        if not path.exists():
            raise UserError(
                f"scenario.args.train_file={self.train_file!r} does not exist; name a JSONL file of reviews."
            )
        return _read_reviews(path, TRAIN_SPLIT)


def _train_from_sample(sample: list[Instance]) -> list[Instance]:
    """SAMPLE_TRAIN_PER_LABEL reviews of each label, the same every time, as the train split."""
    rng = random.Random("imdb/sample/train")
    chosen: list[Instance] = []
    for label in LABELS:
        having = [instance for instance in sample if _label(instance) == label]
        chosen += rng.sample(having, min(SAMPLE_TRAIN_PER_LABEL, len(having)))
    log.warning(
        "No IMDB train file: %d reviews of the sample are the train split (in-context examples) and are not "
        "evaluated; name a train file with scenario.args.train_file=... to evaluate all of it.",
        len(chosen),
    )
    order = {instance.id: index for index, instance in enumerate(sample)}
    return [_as_train(instance) for instance in sorted(chosen, key=lambda instance: order[instance.id])]


def _label(instance: Instance) -> str:
    reference = instance.first_correct_reference
    return reference.output if reference else ""


def _as_train(instance: Instance) -> Instance:
    return Instance(instance.id, instance.input, instance.references, TRAIN_SPLIT)


def _read_reviews(path: Path, split: str) -> list[Instance]:
    fix = 'replace the file with a good copy (a review a line: {"text": ..., "label": 0 or 1})'
    instances = []
    for line_number, row in read_jsonl(path, fix):
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or label not in (0, 1) or isinstance(label, bool):
            fields = ", ".join(sorted(row)) or "none"
            raise UserError(
                f"{path} line {line_number} needs a string 'text' and a 'label' of 0 or 1 (its fields: {fields}); {fix}."
            )
        references = [Reference(name, [CORRECT_TAG] if index == label else []) for index, name in enumerate(LABELS)]
        instances.append(Instance(_instance_id(row.get("id"), split, line_number), text.strip(), references, split))
    return instances


def _instance_id(record_id: Any, split: str, line_number: int) -> str:
    """`test/neg/15_2.txt` becomes `test-neg-15_2`; a record without id gets `<split>-<line>`."""
    if isinstance(record_id, str) and record_id:
        return record_id.removesuffix(".txt").replace("/", "-")
    return f"{split}-{line_number}"


def install_release(folder: Path) -> None:
    """Download aclImdb_v1.tar.gz (or use a copy in `folder`), write train.jsonl and test.jsonl, delete it."""
    archive = ensure_data_file(folder, ARCHIVE)
    reviews: dict[str, list[tuple[tuple[str, int], dict[str, Any]]]] = {"train": [], "test": []}
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                match = _MEMBER.fullmatch(member.name)
                if not (member.isfile() and match):
                    continue
                split, polarity, number, rating = match.groups()
                with tar.extractfile(member) as source:  # type: ignore[union-attr]
                    text = source.read().decode("utf-8")
                record = {"id": f"{split}/{polarity}/{number}_{rating}.txt", "text": text}
                record |= {"label": int(polarity == "pos"), "rating": int(rating)}
                reviews[split].append(((polarity, int(number)), record))
    except (tarfile.TarError, OSError, UnicodeDecodeError) as error:
        raise UserError(f"{archive} cannot be unpacked ({error}); delete it to download it again.") from None
    with staged_files(folder, KNOWN_SHA256) as stage:
        for split, records in reviews.items():
            lines = [json.dumps(record, ensure_ascii=False) + "\n" for _, record in sorted(records, key=lambda r: r[0])]
            (stage / f"{split}.jsonl").write_text("".join(lines), encoding="utf-8")
    archive.unlink()
