"""Ctrl-C: a run stops at once, says in one line what it kept and how to resume, and the same
command then finishes it; a sweep says which of its runs are complete."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, TESTS, run_folder
from test_resume import calls, committed

SUITE = Path("runs/default")


def start(shared_data: Path, output_dir: Path, calls_file: Path, *overrides: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "crfm_eval",
        *overrides,
        "scenario=boolq",
        "model=simple",
        "model.client=counting_client.CountingClient",
        f"+model.args.calls_file={calls_file}",
        "execution.num_threads=2",
        "execution.progress=false",
        f"data_dir={shared_data}",
        f"output_dir={output_dir}",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)]), "CRFM_EVAL_OFFLINE": "1"}
    return subprocess.Popen(
        command, cwd=output_dir.parent, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def interrupt_after(process: subprocess.Popen, calls_file: Path, count: int) -> tuple[float, str, str]:
    """SIGINT once `count` calls were made; (seconds from the signal to the exit, stdout, stderr)."""
    while len(calls(calls_file)) < count:
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    process.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    stdout, stderr = process.communicate(timeout=60)
    return time.monotonic() - signalled, stdout, stderr


def test_ctrl_c_is_one_line_keeps_the_finished_requests_and_the_same_command_resumes(tmp_path, shared_data):
    output_dir, calls_file = tmp_path / "outputs", tmp_path / "calls.txt"
    # Each call takes 3 s: a run that waited for the calls in flight would take that long to stop.
    overrides = ("adaptation=5shot", "max_eval_instances=20", "model.args.latency=3")
    process = start(shared_data, output_dir, calls_file, *overrides)
    seconds, stdout, stderr = interrupt_after(process, calls_file, 3)  # two answered, two more in flight
    assert process.returncode == 130
    assert "Traceback" not in stdout + stderr and "KeyboardInterrupt" not in stdout + stderr
    last_line = stderr.strip().splitlines()[-1]
    assert last_line.startswith("Interrupted: ") and last_line.endswith("run the same command again to resume.")
    kept, held = int(last_line.split()[1]), committed(output_dir)
    assert 2 <= kept <= len(held) <= kept + 2 and "of 20 requests finished and are kept" in last_line
    assert seconds < 2.5, f"took {seconds:.1f} s to stop"
    summary = json.loads((output_dir / SUITE / "summary.json").read_text())
    assert [run["status"] for run in summary["runs"]] == ["partial"]

    calls_before = len(calls(calls_file))
    final = start(shared_data, output_dir, calls_file, "adaptation=5shot", "max_eval_instances=20")
    stdout, stderr = final.communicate(timeout=300)
    assert final.returncode == 0, stderr
    manifest = json.loads(next((output_dir / SUITE).glob("*/manifest.json")).read_text())
    assert manifest["num_requests"] == 20 and manifest["num_cache_hits"] >= kept
    assert not held & set(calls(calls_file)[calls_before:])  # what was kept is not paid for again


def test_ctrl_c_in_a_sweep_says_which_runs_are_complete(tmp_path, shared_data):
    output_dir, calls_file = tmp_path / "outputs", tmp_path / "calls.txt"
    sweep = ("-m", "adaptation=0shot,5shot", "max_eval_instances=30", "model.args.latency=0.2")
    process = start(shared_data, output_dir, calls_file, *sweep)
    _, stdout, stderr = interrupt_after(process, calls_file, 30 + 4)  # the first job done, the second begun
    assert process.returncode == 130
    assert "Traceback" not in stdout + stderr
    last_line = stderr.strip().splitlines()[-1]
    zero_shot, five_shot = (run_folder(output_dir, adaptation=name).name for name in ("0shot", "5shot"))
    assert last_line.startswith(f"Sweep interrupted in {five_shot} (")
    assert f"1 run(s) of suite default complete ({zero_shot})" in last_line
    assert last_line.endswith("run the same command again to resume (complete runs are skipped).")
    summary = json.loads((output_dir / SUITE / "summary.json").read_text())
    assert {run["run_name"]: run["status"] for run in summary["runs"]} == {zero_shot: "complete", five_shot: "partial"}
