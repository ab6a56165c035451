"""Sweeps (`python -m crfm_eval -m ...`) with Hydra's launchers: one suite folder, a summary,
completed runs skipped, a failing job reported in one line without stopping the others."""

import json
from pathlib import Path

import pytest
from conftest import TESTS, run_cli, run_folder

SUITE = Path("outputs/runs/default")
SMALL = ("model=simple", "max_eval_instances=12", "execution.progress=false")


def _load(path: Path):
    return json.loads(path.read_text())


def _statuses(workdir: Path) -> dict[str, str]:
    """Status by adaptation (the runs of these sweeps differ in adaptation only)."""
    return {run["adaptation"]: run["status"] for run in _load(workdir / SUITE / "summary.json")["runs"]}


def _run(workdir: Path, adaptation: str) -> Path:
    return run_folder(workdir / "outputs", adaptation=adaptation)


@pytest.fixture(scope="module")
def swept(tmp_path_factory, shared_data):
    """A sweep of two adaptations with the basic launcher."""
    workdir = tmp_path_factory.mktemp("sweep")
    completed = run_cli("-m", "adaptation=0shot,5shot", *SMALL, f"data_dir={shared_data}", cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    return workdir, completed


def test_sweep_runs_every_combination_into_one_suite_with_a_summary(swept):
    workdir, completed = swept
    names = [_run(workdir, adaptation).name for adaptation in ("0shot", "5shot")]
    for run_name in names:
        assert (workdir / SUITE / run_name / "manifest.json").is_file()
    summary = _load(workdir / SUITE / "summary.json")
    assert summary["suite"] == "default" and summary["counts"] == {"complete": 2, "partial": 0, "failed": 0}
    by_name = {run["run_name"]: run for run in summary["runs"]}
    assert sorted(by_name) == sorted(names)
    for run_name, run in by_name.items():
        stats = {(s["name"], s["split"]): s for s in _load(workdir / SUITE / run_name / "stats.json")}
        assert run["stats"]["valid"]["exact_match"]["mean"] == stats[("exact_match", "valid")]["mean"]
        assert run["stats"]["valid"]["exact_match"]["count"] == 12 and run["num_instances"] == 12
        assert run["wall_time_seconds"] > 0 and run["error"] is None
        assert (run["model"], run["scenario"]) == ("simple/deterministic", "boolq")
    assert "2 complete, 0 partial, 0 failed" in completed.stderr


def test_rerun_skips_complete_runs_and_force_redoes_them(swept, shared_data):
    workdir, _ = swept
    manifest = _run(workdir, "5shot") / "manifest.json"
    before = manifest.read_bytes()
    completed = run_cli("-m", "adaptation=0shot,5shot", *SMALL, f"data_dir={shared_data}", cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.count("already complete, skipping") == 2
    assert manifest.read_bytes() == before
    completed = run_cli("adaptation=5shot", *SMALL, f"data_dir={shared_data}", "force=true", cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    assert "already complete" not in completed.stdout
    redone = _load(manifest)
    assert (redone["num_model_calls"], redone["num_cache_hits"]) == (0, 12)  # redone from the cache
    assert _statuses(workdir) == {"0shot": "complete", "5shot": "complete"}


def test_a_changed_spec_runs_again_in_its_own_folder(swept, shared_data):
    workdir, _ = swept
    before = sorted(path.name for path in (workdir / SUITE).iterdir())
    completed = run_cli("adaptation=0shot", *SMALL, f"data_dir={shared_data}", "max_eval_instances=14", cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    assert "already complete" not in completed.stdout
    (new,) = set(path.name for path in (workdir / SUITE).iterdir()) - set(before)
    assert "max_eval_instances=14" in new
    manifest = _load(workdir / SUITE / new / "manifest.json")
    assert (manifest["num_requests"], manifest["num_cache_hits"]) == (14, 12)
    assert _load(_run(workdir, "5shot") / "manifest.json")["num_requests"] == 12  # the others are untouched


def test_a_failing_job_is_one_line_and_does_not_stop_the_others(tmp_path, shared_data):
    search_path = f"hydra.searchpath=[file://{TESTS / 'conf'}]"  # adds the test-only model `unreachable`
    completed = run_cli(
        "-m", search_path, "model=unreachable,simple", *SMALL[1:], f"data_dir={shared_data}", cwd=tmp_path
    )
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr + completed.stdout
    summary = _load(tmp_path / SUITE / "summary.json")
    assert summary["counts"] == {"complete": 1, "partial": 0, "failed": 1}
    failed = next(run for run in summary["runs"] if run["status"] == "failed")
    assert failed["run_name"].startswith("boolq_5shot_test--unreachable_")
    failed_line = f"FAILED {failed['run_name']}: The model server at http://127.0.0.1:9 cannot be reached"
    assert failed_line in completed.stderr and completed.stderr.count("FAILED ") == 1
    assert failed["error"].startswith("The model server at http://127.0.0.1:9 cannot be reached")
    simple = run_folder(tmp_path / "outputs", model="simple/deterministic")
    assert _load(simple / "manifest.json")["num_failed_requests"] == 0  # the other job ran to the end


def test_a_run_with_failed_requests_is_partial(tmp_path, shared_data):
    outage = tmp_path / "outage"
    outage.touch()
    client = (
        "model.client=failing_client.OutageClient",
        f"+model.args.outage_file={outage}",
        "+model.args.fail_every=2",
    )
    completed = run_cli("-m", "adaptation=5shot", *SMALL, *client, f"data_dir={shared_data}", cwd=tmp_path)
    assert completed.returncode == 1
    assert f"FAILED {_run(tmp_path, '5shot').name}: " in completed.stderr and "requests failed" in completed.stderr
    run = _load(tmp_path / SUITE / "summary.json")["runs"][0]
    assert run["status"] == "partial" and "requests failed (first: ClientError: upstream unavailable)" in run["error"]
    failed = run["num_failed_requests"]
    assert (
        0 < failed < 12 and run["stats"]["valid"]["exact_match"]["count"] == 12 - failed
    )  # stats of the answered ones


def _no_lock_errors(workdir: Path, completed) -> None:
    logs = [path.read_text() for path in (workdir / SUITE).rglob("*.log")] + [
        path.read_text() for path in (workdir / SUITE).rglob("*.err")
    ]
    for text in (completed.stdout, completed.stderr, *logs):
        assert "database is locked" not in text and "locked by another process" not in text


def test_joblib_launcher_runs_jobs_in_parallel_processes(tmp_path, shared_data):
    completed = run_cli(
        "-m",
        "hydra/launcher=joblib",
        "hydra.launcher.n_jobs=2",
        "adaptation=0shot,5shot",
        "model.args.latency=0.01",
        *SMALL,
        f"data_dir={shared_data}",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Joblib.Parallel(n_jobs=2" in completed.stdout + completed.stderr
    assert _statuses(tmp_path) == {"0shot": "complete", "5shot": "complete"}
    pids = {_load(_run(tmp_path, adaptation) / "status.json")["pid"] for adaptation in ("0shot", "5shot")}
    assert len(pids) == 2  # two worker processes
    _no_lock_errors(tmp_path, completed)


def test_submitit_local_launcher_runs_each_job_as_its_own_process(tmp_path, shared_data):
    completed = run_cli(
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        "adaptation=0shot,5shot",
        *SMALL,
        f"data_dir={shared_data}",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert (tmp_path / SUITE / ".submitit").is_dir()
    assert _statuses(tmp_path) == {"0shot": "complete", "5shot": "complete"}  # .submitit is not a run
    pids = {_load(_run(tmp_path, adaptation) / "status.json")["pid"] for adaptation in ("0shot", "5shot")}
    assert len(pids) == 2
    _no_lock_errors(tmp_path, completed)


def test_slurm_example_composes_onto_submitit_slurm(tmp_path):
    completed = run_cli(
        "hydra/launcher=slurm_example",
        "hydra.launcher.partition=gpu",
        "--cfg",
        "hydra",
        "--package",
        "hydra.launcher",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    assert "hydra_submitit_launcher.submitit_launcher.SlurmLauncher" in completed.stdout
    for line in ("partition: gpu", "timeout_min: 240", "cpus_per_task: 4", "mem_gb: 16", "max_num_timeout: 3"):
        assert line in completed.stdout, line
