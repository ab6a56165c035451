"""A run folder's request states and per-instance stats: JSONL that pandas reads, that the readers
iterate (skipping a line cut short by a killed run), and folders of earlier versions still read."""

import json
import shutil

import pandas as pd
import pytest
from conftest import run_cli

from crfm_eval.runner.readers import (
    is_complete,
    iter_per_instance_stats,
    iter_request_states,
    read_execution_stats,
    read_manifest,
    read_run_spec,
    read_stats,
)

INSTANCES = 12


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("run_files")
    completed = run_cli(
        "scenario=boolq",
        "adaptation=5shot",
        "model=simple",
        f"max_eval_instances={INSTANCES}",
        "adaptation.num_train_trials=2",
        "execution.progress=false",
        f"data_dir={shared_data}",
        cwd=workdir,
    )
    assert completed.returncode == 0, completed.stderr
    return next((workdir / "outputs/runs/default").glob("*/run_spec.json")).parent


def test_pandas_reads_the_jsonl_files_as_the_readers_do(run_dir):
    states = list(iter_request_states(run_dir))
    frame = pd.read_json(run_dir / "scenario_state.jsonl", lines=True)
    assert len(frame) == len(states) == 2 * INSTANCES
    assert list(frame["request"].map(lambda request: request["prompt"])) == [s["request"]["prompt"] for s in states]
    flat = pd.json_normalize(frame.to_dict("records"))
    assert {"instance.id", "request.prompt", "result.completions", "train_trial_index"} <= set(flat.columns)
    per_instance = pd.read_json(run_dir / "per_instance_stats.jsonl", lines=True)
    assert list(per_instance["instance_id"]) == [entry["instance_id"] for entry in iter_per_instance_stats(run_dir)]
    values = pd.json_normalize(per_instance["values"].tolist())
    exact = {(s["name"], s["split"]): s for s in read_stats(run_dir)}[("exact_match", "valid")]
    # stats.json averages each instance over its trials, then over instances.
    means = values["exact_match"].groupby(per_instance["instance_id"]).mean()
    assert exact["count"] == INSTANCES and exact["mean"] == pytest.approx(means.mean())


def test_each_instance_keeps_its_trials_together_in_request_order(run_dir):
    states = list(iter_request_states(run_dir))
    ids = [state["instance"]["id"] for state in states]
    assert ids[0::2] == ids[1::2] and len(set(ids)) == INSTANCES
    assert [state["train_trial_index"] for state in states] == [0, 1] * INSTANCES
    examples = {state["train_trial_index"]: tuple(state["train_instance_ids"]) for state in states}
    assert examples[0] != examples[1]  # a trial is its own draw of in-context examples


def test_a_line_cut_short_by_a_kill_is_skipped(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    whole = (copy / "scenario_state.jsonl").read_bytes()
    last_start = whole.rstrip(b"\n").rfind(b"\n") + 1
    for cut in (last_start + 1, last_start + (len(whole) - last_start) // 2, len(whole) - 1):
        (copy / "scenario_state.jsonl").write_bytes(whole[:cut])
        assert len(list(iter_request_states(copy))) == 2 * INSTANCES - 1, cut
    lines = (copy / "per_instance_stats.jsonl").read_bytes()
    (copy / "per_instance_stats.jsonl").write_bytes(lines + b'{"instance_id": "valid-9", "spl')
    assert len(list(iter_per_instance_stats(copy))) == 2 * INSTANCES


def test_small_files_and_completeness(run_dir):
    assert is_complete(run_dir) and read_manifest(run_dir)["num_requests"] == 2 * INSTANCES
    assert read_run_spec(run_dir)["max_eval_instances"] == INSTANCES
    assert {s["name"] for s in read_execution_stats(run_dir)} == {"cached", "request_failed", "cost"}


def test_folders_of_earlier_versions_are_read(run_dir, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    states, per_instance = list(iter_request_states(run_dir)), list(iter_per_instance_stats(run_dir))
    (old / "scenario_state.json").write_text(json.dumps({"adaptation_spec": {}, "request_states": states}))
    (old / "per_instance_stats.json").write_text(json.dumps(per_instance, indent=2))
    assert list(iter_request_states(old)) == states and list(iter_per_instance_stats(old)) == per_instance
    assert not is_complete(old) and read_manifest(old) is None and read_execution_stats(old) == []
