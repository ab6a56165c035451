"""Values a run cannot use stop it before anything runs: one sentence naming the key and the allowed
range, exit status 1, no traceback, and nothing written (no run folder, log file, cache, multirun.yaml)."""

from pathlib import Path

import pytest
from conftest import run_cli

from crfm_eval.errors import UserError
from crfm_eval.validation import check_writable_dir


def _tree(folder: Path) -> set[Path]:
    return set(folder.rglob("*"))


CASES = [
    ("max_eval_instances=0", "max_eval_instances must be at least 1, or null for every instance (got 0)."),
    ("max_eval_instances=-5", "max_eval_instances must be at least 1, or null for every instance (got -5)."),
    ("adaptation.temperature=-1", "adaptation.temperature must be at least 0 (got -1.0)."),
    ("adaptation.max_tokens=0", "adaptation.max_tokens must be at least 1 (got 0)."),
    ("adaptation.max_tokens=-5", "adaptation.max_tokens must be at least 1 (got -5)."),
    ("adaptation.max_train_instances=-2", "adaptation.max_train_instances must be at least 0 (got -2)."),
    ("adaptation.num_outputs=0", "adaptation.num_outputs must be between 1 and 128 (got 0)."),
    ("adaptation.num_outputs=1000000", "adaptation.num_outputs must be between 1 and 128 (got 1000000)."),
    ("suite=../..", "suite must be one folder name of letters, digits and . _ - = , + ~ (got '../..')"),
    ("output_dir={blocked}/outputs", "output_dir={blocked}/outputs cannot be created: {blocked} is a file"),
    (
        "execution.cache_dir={blocked}/cache",
        "execution.cache_dir={blocked}/cache cannot be created: {blocked} is a file",
    ),
]


@pytest.mark.parametrize(
    "override, message", CASES, ids=[case[0].split("=")[0] + "=" + case[0].split("=")[1][:8] for case in CASES]
)
def test_a_bad_value_stops_before_anything_is_written(tmp_path, override, message):
    blocked = tmp_path / "a_file"  # a file where a folder would have to be created
    blocked.write_text("not a folder\n")
    before = _tree(tmp_path)
    override, message = override.format(blocked=blocked), message.format(blocked=blocked)
    completed = run_cli("model=simple", override, cwd=tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, output
    assert message in output and "Traceback" not in output
    assert len(output.strip().splitlines()) == 1  # one sentence, nothing else
    assert _tree(tmp_path) == before  # no run folder, no log file, no cache, no summary


def test_a_sweep_with_one_bad_job_runs_no_job(tmp_path):
    completed = run_cli("-m", "model=simple", "max_eval_instances=5,-5", "seed=0,1", cwd=tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1 and "Traceback" not in output
    assert "max_eval_instances must be at least 1, or null for every instance (got -5)." in output
    assert list(tmp_path.iterdir()) == []  # not even the suite folder or multirun.yaml


def test_an_explicit_run_name_must_be_one_folder(tmp_path):
    completed = run_cli("model=simple", "run_name=a/../../b", cwd=tmp_path)
    assert completed.returncode == 1 and "run_name must be one folder name" in completed.stderr
    assert list(tmp_path.iterdir()) == []


def test_writable_dir_check_leaves_nothing_behind(tmp_path):
    check_writable_dir("output_dir", str(tmp_path / "new" / "deeper"))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(
        UserError, match=r"execution.cache_dir=/proc/crfm_eval_cache cannot be created or written in /proc"
    ):
        check_writable_dir("execution.cache_dir", "/proc/crfm_eval_cache")
