"""MMLU from the real files in ../shared/data, and its release download (a data.tar the test builds,
served on 127.0.0.1) with the known and the recorded sha256."""

import csv
import hashlib
import io
import logging
import shutil
import tarfile
from collections import Counter

import pytest

from crfm_eval.errors import UserError
from crfm_eval.scenarios import mmlu
from crfm_eval.scenarios.checksums import SUMS_FILE
from crfm_eval.scenarios.download import DataFile
from crfm_eval.scenarios.mmlu import MMLUScenario

SHARED_SUBJECTS = ["abstract_algebra", "anatomy", "astronomy", "college_computer_science", "high_school_mathematics"]


@pytest.fixture(scope="module")
def instances(shared_data):
    return MMLUScenario(subjects=SHARED_SUBJECTS).get_instances(shared_data)


def test_subjects_splits_and_sizes_match_source_md(instances):
    counts = Counter((instance.split, instance.sub_split) for instance in instances)
    assert {subject: counts[("test", subject)] for subject in SHARED_SUBJECTS} == {
        "abstract_algebra": 100,
        "anatomy": 135,
        "astronomy": 152,
        "college_computer_science": 100,
        "high_school_mathematics": 270,
    }
    assert all(counts[("train", subject)] == 5 for subject in SHARED_SUBJECTS)  # the dev questions
    assert len({instance.id for instance in instances}) == len(instances)


def test_a_row_becomes_four_options_with_the_lettered_one_correct(instances, shared_data):
    first = next(i for i in instances if i.id == "test-anatomy-0")
    with (shared_data / "mmlu" / "test" / "anatomy_test.csv").open(newline="") as handle:
        row = next(csv.reader(handle))
    assert first.input == row[0] and [r.output for r in first.references] == row[1:5]
    assert [r.is_correct for r in first.references] == [letter == row[5] for letter in "ABCD"]
    assert all(sum(r.is_correct for r in i.references) == 1 and len(i.references) == 4 for i in instances)


def test_a_subset_and_an_unknown_subject(shared_data):
    only = MMLUScenario(subjects=["anatomy"]).get_instances(shared_data)
    assert {i.sub_split for i in only} == {"anatomy"} and len(only) == 140
    with pytest.raises(UserError, match=r"'anatomyy', which is not an MMLU subject \(did you mean anatomy\?\)"):
        MMLUScenario(subjects=["anatomyy"])


def test_all_subjects_offline_use_those_present_with_a_warning(shared_data, caplog):
    with caplog.at_level(logging.WARNING):
        everything = MMLUScenario().get_instances(shared_data)
    assert {i.sub_split for i in everything} == set(SHARED_SUBJECTS)
    assert "52 of 57 subjects are missing" in caplog.text and "CRFM_EVAL_OFFLINE" in caplog.text


def test_a_named_missing_subject_fails_naming_the_release_url(shared_data):
    with pytest.raises(UserError) as raised:
        MMLUScenario(subjects=["anatomy", "virology"]).get_instances(shared_data)
    message = str(raised.value)
    assert "lacks the MMLU files of virology" in message and mmlu.ARCHIVE.urls[0] in message


def _release(shared_data, extra_rows, tamper=False) -> bytes:
    """A data.tar laid out as the original: two shared subjects, virology written here, and noise."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name, content: bytes):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))

        for kind in ("dev", "test"):
            content = (shared_data / "mmlu" / kind / f"anatomy_{kind}.csv").read_bytes()
            add(f"data/{kind}/anatomy_{kind}.csv", content + (b"x" if tamper and kind == "test" else b""))
        for kind in ("dev", "val", "test"):
            add(f"data/{kind}/virology_{kind}.csv", extra_rows.encode())
        add("data/auxiliary_train/race.csv", b"not,an,mmlu,subject,file,A\n")
        add("data/../../escape.csv", b"outside\n")
    return buffer.getvalue()


def test_the_release_is_downloaded_verified_installed_and_recorded(
    file_server, tmp_path, online, monkeypatch, shared_data
):
    served, base = file_server
    rows = 'What is a virus?,A cell,A particle,"A plant, small",A fungus,B\n'
    archive = _release(shared_data, rows)
    (served / "data.tar").write_bytes(archive)
    monkeypatch.setattr(
        mmlu, "ARCHIVE", DataFile("data.tar", [f"{base}/data.tar"], hashlib.sha256(archive).hexdigest())
    )
    data_dir = tmp_path / "data"
    got = MMLUScenario(subjects=["anatomy", "virology"]).get_instances(data_dir)
    assert Counter((i.split, i.sub_split) for i in got) == {
        ("train", "anatomy"): 5,
        ("test", "anatomy"): 135,
        ("train", "virology"): 1,
        ("valid", "virology"): 1,
        ("test", "virology"): 1,
    }
    virus = next(i for i in got if i.id == "test-virology-0")
    assert [r.output for r in virus.references][2] == "A plant, small" and virus.references[1].is_correct
    folder = data_dir / "mmlu"
    assert not (folder / "data.tar").exists() and not list(folder.glob(".staging-*"))
    assert not (tmp_path / "escape.csv").exists() and not (folder / "auxiliary_train").exists()
    recorded = dict(line.split("  ")[::-1] for line in (folder / SUMS_FILE).read_text().splitlines())
    assert recorded["val/virology_val.csv"] == hashlib.sha256(rows.encode()).hexdigest()
    assert len(recorded) == 5
    # A file changed after it was recorded is caught on the next run.
    (folder / "test" / "virology_test.csv").write_text(rows.replace("virus", "bacterium"))
    with pytest.raises(UserError, match=r"virology_test.csv has sha256 \w+, not the recorded in"):
        MMLUScenario(subjects=["virology"]).get_instances(data_dir)


def test_a_release_file_with_a_wrong_known_sha256_installs_nothing(
    file_server, tmp_path, online, monkeypatch, shared_data
):
    served, base = file_server
    archive = _release(shared_data, "Q,a,b,c,d,A\n", tamper=True)
    (served / "data.tar").write_bytes(archive)
    monkeypatch.setattr(
        mmlu, "ARCHIVE", DataFile("data.tar", [f"{base}/data.tar"], hashlib.sha256(archive).hexdigest())
    )
    with pytest.raises(UserError, match=r"test/anatomy_test.csv in the download has sha256 \w+, not the canonical"):
        MMLUScenario(subjects=["anatomy"]).get_instances(tmp_path / "data")
    assert sorted(p.name for p in (tmp_path / "data" / "mmlu").iterdir()) == ["data.tar"]


def test_a_local_copy_with_a_wrong_known_sha256_is_refused(tmp_path, shared_data):
    folder = tmp_path / "mmlu"
    shutil.copytree(shared_data / "mmlu", folder)
    with (folder / "dev" / "anatomy_dev.csv").open("a") as handle:
        handle.write("Extra?,a,b,c,d,A\n")
    with pytest.raises(UserError, match="anatomy_dev.csv has sha256 .* not the canonical"):
        MMLUScenario(subjects=["anatomy"]).get_instances(tmp_path)


@pytest.mark.parametrize(
    "row, message",
    [
        ("Q,a,b,c,A\n", r"virology_test.csv line 2 has 5 columns, not 6"),
        ("Q,a,b,c,d,E\n", r"virology_test.csv line 2: the answer 'E' is not one of A, B, C, D"),
    ],
)
def test_a_malformed_row_names_file_and_line(tmp_path, row, message):
    for kind in ("dev", "test"):
        (tmp_path / "mmlu" / kind).mkdir(parents=True)
        (tmp_path / "mmlu" / kind / f"virology_{kind}.csv").write_text(
            "Q,a,b,c,d,A\n" + (row if kind == "test" else "")
        )
    with pytest.raises(UserError, match=message):
        MMLUScenario(subjects=["virology"]).get_instances(tmp_path)
