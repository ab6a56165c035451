"""`python -m crfm_eval scenario=boolq adaptation=5shot model=simple` as a user runs it, on real BoolQ."""

import json
from pathlib import Path

import pytest
from conftest import run_cli, run_folder

from crfm_eval.runner.readers import iter_per_instance_stats, iter_request_states

COMMAND = ("scenario=boolq", "adaptation=5shot", "model=simple", "max_eval_instances=50")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("e2e")
    completed = run_cli(*COMMAND, f"data_dir={shared_data}", cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    return workdir, completed


def _load(run_dir: Path, name: str):
    return json.loads((run_dir / name).read_text())


def test_run_writes_the_documented_files(first_run):
    workdir, _ = first_run
    run_dir = run_folder(workdir / "outputs")
    for name in ("run_spec.json", "scenario_state.jsonl", "per_instance_stats.jsonl", "stats.json", "manifest.json"):
        assert (run_dir / name).is_file(), name
    run_spec = _load(run_dir, "run_spec.json")
    assert run_spec["adaptation"]["name"] == "5shot" and run_spec["model"]["name"] == "simple/deterministic"
    assert run_spec["max_eval_instances"] == 50
    manifest = _load(run_dir, "manifest.json")
    assert manifest["num_requests"] == 50 and manifest["num_model_calls"] == 50 and manifest["num_cache_hits"] == 0
    assert manifest["seed"] == 0 and manifest["wall_time_seconds"] > 0 and manifest["python_version"].startswith("3.")
    assert manifest["library_versions"]["hydra-core"] and "git_commit" in manifest and "git_dirty" in manifest


def test_prompts_and_stats_agree_with_the_data(first_run, shared_data):
    workdir, completed = first_run
    run_dir = run_folder(workdir / "outputs")
    states = list(iter_request_states(run_dir))
    dev = [json.loads(line) for line in (shared_data / "boolq" / "dev.jsonl").read_text().splitlines()]
    assert len(states) == 50 and len({s["instance"]["id"] for s in states}) == 50
    for state in states:
        row = dev[int(state["instance"]["id"].split("-")[1])]
        prompt = state["request"]["prompt"]
        # The eval block closes the prompt, in HELM's format, and five examples precede it.
        question = row["question"][0].upper() + row["question"][1:]
        assert prompt.endswith(f"Passage: {row['passage']}\nQuestion: {question}?\nAnswer:")
        assert prompt.count("\nAnswer: Yes\n") + prompt.count("\nAnswer: No\n") == 5
        correct = [r["output"] for r in state["instance"]["references"] if "correct" in r["tags"]]
        assert correct == ["Yes" if row["answer"] else "No"]
        assert state["request"]["max_tokens"] == 5 and state["request"]["stop_sequences"] == ["\n"]
        assert state["request"]["temperature"] == 0.0
    correct = [
        s["result"]["completions"][0]["text"].strip()
        == next(r["output"] for r in s["instance"]["references"] if "correct" in r["tags"])
        for s in states
    ]
    stats = {(s["name"], s["split"]): s for s in _load(run_dir, "stats.json")}
    exact = stats[("exact_match", "valid")]
    assert exact["count"] == 50 and exact["mean"] == sum(correct) / 50
    assert exact["ci_low"] < exact["mean"] < exact["ci_high"]
    assert stats[("num_train_instances", "valid")]["mean"] == 5.0
    assert stats[("prompt_truncated", "valid")]["mean"] == 0.0
    for name in (
        "quasi_exact_match",
        "prefix_exact_match",
        "quasi_prefix_exact_match",
        "num_prompt_tokens",
        "num_completion_tokens",
        "inference_runtime",
    ):
        assert stats[(name, "valid")]["count"] == 50, name
    execution = {(s["name"], s["split"]): s for s in _load(run_dir, "execution_stats.json")}
    assert execution[("cached", "valid")]["mean"] == 0.0
    assert len(list(iter_per_instance_stats(run_dir))) == 50
    log = completed.stdout + completed.stderr
    assert "exact_match" in log and f"{exact['mean']:.3f}" in log


def test_rerun_is_served_from_cache_with_byte_identical_stats(first_run, shared_data):
    workdir, _ = first_run
    run_dir = run_folder(workdir / "outputs")
    before = (run_dir / "stats.json").read_bytes()
    per_instance_before = (run_dir / "per_instance_stats.jsonl").read_bytes()
    completed = run_cli(
        *COMMAND, f"data_dir={shared_data}", "force=true", cwd=workdir
    )  # a complete run is skipped unless forced
    assert completed.returncode == 0, completed.stderr
    manifest = _load(run_dir, "manifest.json")
    assert manifest["num_model_calls"] == 0 and manifest["num_cache_hits"] == 50
    assert (run_dir / "stats.json").read_bytes() == before
    assert (run_dir / "per_instance_stats.jsonl").read_bytes() == per_instance_before
    assert {(s["name"], s["mean"]) for s in _load(run_dir, "execution_stats.json") if s["name"] == "cached"} == {
        ("cached", 1.0)
    }


def test_same_seed_same_instances_other_seed_other_instances(first_run, shared_data, tmp_path):
    workdir, _ = first_run
    ids = [s["instance"]["id"] for s in iter_request_states(run_folder(workdir / "outputs"))]
    completed = run_cli(*COMMAND, f"data_dir={shared_data}", "seed=1", "model.max_sequence_length=600", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    states = list(iter_request_states(run_folder(tmp_path / "outputs")))
    assert [s["instance"]["id"] for s in states] != ids
    # A 600-token window cannot hold every 5-shot prompt: examples are dropped, and the stats say so.
    stats = {s["name"]: s for s in _load(run_folder(tmp_path / "outputs"), "stats.json")}
    assert stats["num_train_instances"]["mean"] < 5.0
    assert max(s["num_prompt_tokens"] for s in states) <= 600 - 5


def test_missing_data_is_one_sentence_not_a_traceback(tmp_path):
    completed = run_cli(*COMMAND, f"data_dir={tmp_path / 'empty'}", cwd=tmp_path)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr + completed.stdout
    assert "jsonl is missing" in completed.stdout + completed.stderr
    assert "data_dir=" in completed.stdout + completed.stderr


def test_failed_requests_are_reported_and_retried_on_rerun(tmp_path, shared_data):
    outage = tmp_path / "outage"
    outage.touch()
    overrides = (
        *COMMAND,
        f"data_dir={shared_data}",
        "max_eval_instances=20",
        "model.client=failing_client.OutageClient",
        f"+model.args.outage_file={outage}",
        "+model.args.fail_every=2",
    )
    completed = run_cli(*overrides, cwd=tmp_path)
    assert completed.returncode == 1
    output = completed.stdout + completed.stderr
    assert "requests failed (first: ClientError: upstream unavailable)" in output and "Traceback" not in output
    manifest = _load(run_folder(tmp_path / "outputs"), "manifest.json")
    failed = manifest["num_failed_requests"]
    assert 0 < failed < 20
    outage.unlink()
    completed = run_cli(*overrides, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    manifest = _load(run_folder(tmp_path / "outputs"), "manifest.json")
    assert (manifest["num_model_calls"], manifest["num_cache_hits"], manifest["num_failed_requests"]) == (
        failed,
        20 - failed,
        0,
    )
