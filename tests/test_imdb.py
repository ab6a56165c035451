"""IMDB from the 1,000-review sample in ../shared/data (the offline stand-in), from a train file the
user names, and from the release tarball (one the test builds, served on 127.0.0.1)."""

import hashlib
import io
import json
import logging
import tarfile
from collections import Counter

import pytest

from crfm_eval.errors import UserError
from crfm_eval.scenarios import imdb
from crfm_eval.scenarios.checksums import SUMS_FILE
from crfm_eval.scenarios.download import DataFile
from crfm_eval.scenarios.imdb import IMDBScenario


def _by_split(instances):
    return Counter((i.split, i.first_correct_reference.output) for i in instances)


def test_the_sample_stands_in_with_warnings_and_sets_apart_its_own_train_split(shared_data, caplog):
    with caplog.at_level(logging.WARNING):
        instances = IMDBScenario().get_instances(shared_data)
    assert "using the 1,000-review sample" in caplog.text and "No IMDB train file" in caplog.text
    assert _by_split(instances) == {
        ("train", "Negative"): 50,
        ("train", "Positive"): 50,
        ("test", "Negative"): 450,
        ("test", "Positive"): 450,
    }
    train_inputs = {i.input for i in instances if i.split == "train"}
    assert not train_inputs & {i.input for i in instances if i.split == "test"}  # never its own example
    assert IMDBScenario().get_instances(shared_data) == instances  # the same reviews every time


def test_a_review_is_helms_instance(shared_data):
    first_line = json.loads((shared_data / "imdb" / "test_sample.jsonl").read_text().splitlines()[0])
    instances = IMDBScenario().get_instances(shared_data)
    review = next(i for i in instances if i.id == first_line["id"].removesuffix(".txt").replace("/", "-"))
    assert review.input == first_line["text"].strip() and "<br /><br />" in review.input
    assert [(r.output, r.is_correct) for r in review.references] == [("Negative", True), ("Positive", False)]


def test_a_named_train_file_gives_the_examples_and_all_the_sample_is_evaluated(shared_data, tmp_path):
    train = tmp_path / "my_train.jsonl"
    train.write_text('{"text": "Loved it.", "label": 1}\n{"text": "Dull.", "label": 0}\n')
    instances = IMDBScenario(train_file=str(train)).get_instances(shared_data)
    assert _by_split(instances) == {
        ("train", "Positive"): 1,
        ("train", "Negative"): 1,
        ("test", "Negative"): 500,
        ("test", "Positive"): 500,
    }
    train.write_text('{"text": "Loved it.", "label": "positive"}\n')
    with pytest.raises(UserError, match=r"my_train.jsonl line 1 needs a string 'text' and a 'label' of 0 or 1"):
        IMDBScenario(train_file=str(train)).get_instances(shared_data)
    with pytest.raises(UserError, match="train_file='nowhere.jsonl' does not exist"):
        IMDBScenario(train_file="nowhere.jsonl").get_instances(shared_data)


def test_offline_with_no_data_names_the_release_url(tmp_path):
    with pytest.raises(UserError, match="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"):
        IMDBScenario().get_instances(tmp_path)


def _tarball() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in [
            ("aclImdb/train/pos/10_9.txt", "Great fun."),
            ("aclImdb/train/pos/2_8.txt", "Wonderful. Café scenes!"),
            ("aclImdb/train/neg/0_1.txt", "Awful."),
            ("aclImdb/test/neg/3_2.txt", " Boring. "),
            ("aclImdb/test/pos/1_10.txt", "A delight."),
            ("aclImdb/train/unsup/0_0.txt", "Unlabelled."),
            ("aclImdb/README", "The README."),
        ]:
            content = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_the_release_becomes_jsonl_files_with_recorded_sha256(file_server, tmp_path, online, monkeypatch):
    served, base = file_server
    archive = _tarball()
    (served / "aclImdb_v1.tar.gz").write_bytes(archive)
    url = f"{base}/aclImdb_v1.tar.gz"
    monkeypatch.setattr(imdb, "ARCHIVE", DataFile("aclImdb_v1.tar.gz", [url], hashlib.sha256(archive).hexdigest()))
    instances = IMDBScenario().get_instances(tmp_path)
    assert [(i.id, i.split, i.input, i.first_correct_reference.output) for i in instances] == [
        ("train-neg-0_1", "train", "Awful.", "Negative"),
        ("train-pos-2_8", "train", "Wonderful. Café scenes!", "Positive"),
        ("train-pos-10_9", "train", "Great fun.", "Positive"),
        ("test-neg-3_2", "test", "Boring.", "Negative"),
        ("test-pos-1_10", "test", "A delight.", "Positive"),
    ]
    folder = tmp_path / "imdb"
    assert sorted(p.name for p in folder.iterdir()) == [SUMS_FILE, "test.jsonl", "train.jsonl"]
    first = json.loads((folder / "train.jsonl").read_text().splitlines()[0])
    assert first == {"id": "train/neg/0_1.txt", "text": "Awful.", "label": 0, "rating": 1}
    recorded = (folder / SUMS_FILE).read_text()
    assert f"{hashlib.sha256((folder / 'test.jsonl').read_bytes()).hexdigest()}  test.jsonl" in recorded


def test_a_test_file_without_its_train_file_is_refused_naming_the_fix(tmp_path, shared_data):
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "test.jsonl").write_bytes((shared_data / "imdb" / "test_sample.jsonl").read_bytes())
    with pytest.raises(UserError, match=r"train.jsonl is missing beside .*scenario.args.train_file="):
        IMDBScenario().get_instances(tmp_path)
