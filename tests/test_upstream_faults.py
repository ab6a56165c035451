"""A BoolQ run of 300 requests through an upstream that fails 30% of the attempts (429, 500, 503,
hangs, 200s with garbage bodies) ends complete, with the statistics of the same run without faults.
Before, the 200s with garbage were not retried: 40 of 300 requests failed."""

import json

from conftest import run_cli
from faulty_openai_server import FAULTS, FaultPlan, faulty_openai_server

INSTANCES = 300


def run(url: str, folder, shared_data):
    folder.mkdir()
    completed = run_cli(
        "scenario=boolq",
        "adaptation=5shot",
        "model=openai-compatible",
        f"model.args.base_url={url}",
        "model.args.model=simple",
        "+model.args.timeout_seconds=1",
        "+model.args.max_retries=8",
        f"max_eval_instances={INSTANCES}",
        f"data_dir={shared_data}",
        "execution.num_threads=8",
        "execution.progress=false",
        cwd=folder,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    run_dir = next((folder / "outputs" / "runs" / "default").glob("*/run_spec.json")).parent
    stats = [s for s in json.loads((run_dir / "stats.json").read_text()) if s["name"] != "inference_runtime"]
    return stats, json.loads((run_dir / "manifest.json").read_text())


def test_a_run_through_30_percent_faults_has_the_fault_free_stats(tmp_path, shared_data):
    with faulty_openai_server(FaultPlan(rate=0.0)) as url:
        expected, clean_manifest = run(url, tmp_path / "clean", shared_data)
    plan = FaultPlan(rate=0.3, seed=15)
    with faulty_openai_server(plan) as url:
        stats, manifest = run(url, tmp_path / "faulty", shared_data)
    assert set(plan.injected) == set(FAULTS) and sum(plan.injected.values()) >= 0.2 * INSTANCES
    assert plan.answered == INSTANCES  # every request answered once in the end: none given up, none repeated
    assert manifest["num_failed_requests"] == 0 and clean_manifest["num_failed_requests"] == 0
    assert stats == expected
