"""BoolQ from the real files, and the download path against a real HTTP server on 127.0.0.1."""

import hashlib
import socket
import time
from collections import Counter

import pytest

from crfm_eval.errors import UserError
from crfm_eval.scenarios import download
from crfm_eval.scenarios.boolq import BoolQScenario, boolq_input
from crfm_eval.scenarios.download import DataFile, ensure_data_file


@pytest.fixture(scope="module")
def boolq_instances(shared_data):
    return BoolQScenario().get_instances(shared_data)


def test_boolq_splits_sizes_and_labels(boolq_instances):
    by_split = Counter(instance.split for instance in boolq_instances)
    assert by_split == {"valid": 3270, "train": 1500}
    valid_yes = sum(i.first_correct_reference.output == "Yes" for i in boolq_instances if i.split == "valid")
    assert valid_yes == 2033  # SOURCE.md: answer=true in 2,033 dev lines
    # Both answers are references (the false one first, as lm-eval lists them), exactly one correct.
    assert all([r.output for r in i.references] == ["No", "Yes"] for i in boolq_instances)
    assert all(sum(r.is_correct for r in i.references) == 1 for i in boolq_instances)
    assert len({i.id for i in boolq_instances}) == len(boolq_instances)


def test_boolq_input_is_helms_format(boolq_instances):
    first_dev = next(i for i in boolq_instances if i.split == "valid")
    assert first_dev.input.startswith("All biomass goes through at least some of these steps")
    assert first_dev.input.endswith("\nQuestion: Does ethanol take more energy make that produces?")
    assert first_dev.first_correct_reference.output == "No"
    assert boolq_input("P.", "is iOS free") == "P.\nQuestion: Is iOS free?"
    # lm-evaluation-harness keeps the question as written.
    assert boolq_input("P.", "is iOS free", capitalize=False) == "P.\nQuestion: is iOS free?"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/dev.jsonl"


def test_download_falls_back_to_the_second_url_and_checks_sha256(file_server, tmp_path, online, shared_data):
    served, base = file_server
    content = (shared_data / "boolq" / "dev.jsonl").read_bytes()
    (served / "dev.jsonl").write_bytes(content)
    data_file = DataFile(
        "dev.jsonl", [f"{base}/missing/dev.jsonl", f"{base}/dev.jsonl"], hashlib.sha256(content).hexdigest()
    )
    path = ensure_data_file(tmp_path / "data", data_file)
    assert path.read_bytes() == content
    assert not list((tmp_path / "data").glob("*.part"))


def test_download_with_wrong_sha256_keeps_nothing(file_server, tmp_path, online):
    served, base = file_server
    (served / "dev.jsonl").write_text('{"question": "tampered"}\n')
    with pytest.raises(UserError, match="sha256"):
        ensure_data_file(tmp_path / "data", DataFile("dev.jsonl", [f"{base}/dev.jsonl"], "0" * 64))
    assert not (tmp_path / "data" / "dev.jsonl").exists()


def test_unreachable_server_fails_fast_naming_url_and_override(tmp_path, online):
    url = _closed_port_url()
    started = time.monotonic()
    with pytest.raises(UserError) as raised:
        ensure_data_file(tmp_path / "data", DataFile("dev.jsonl", [url], "0" * 64))
    assert time.monotonic() - started < download.CONNECT_TIMEOUT_SECONDS
    message = str(raised.value)
    assert url in message and "data_dir=" in message and "CRFM_EVAL_DATA_DIR" in message


def test_offline_mode_names_the_real_url(tmp_path):
    with pytest.raises(
        UserError, match="https://huggingface.co/datasets/stanford-crfm/helm-scenarios/resolve/main/boolq/"
    ):
        BoolQScenario().get_instances(tmp_path)


def test_local_copy_with_wrong_checksum_is_refused(tmp_path, shared_data):
    folder = tmp_path / "boolq"
    folder.mkdir()
    (folder / "dev.jsonl").write_bytes((shared_data / "boolq" / "dev.jsonl").read_bytes()[:-10])
    (folder / "train.jsonl").write_text("")
    with pytest.raises(UserError, match="not the canonical"):
        BoolQScenario().get_instances(tmp_path)


def test_malformed_line_names_file_and_line(tmp_path):
    folder = tmp_path / "boolq"
    folder.mkdir()
    (folder / "train_head1500.jsonl").write_text('{"question": "q", "passage": "p", "answer": true}\n{"question": \n')
    with pytest.raises(UserError, match=r"train_head1500.jsonl line 2 is not valid JSON"):
        list(download.read_jsonl(folder / "train_head1500.jsonl"))
    (folder / "train_head1500.jsonl").write_text('{"question": "q", "passage": "p"}\n')
    with pytest.raises(UserError, match="line 1 has no 'answer' field"):
        BoolQScenario().get_instances(tmp_path)
