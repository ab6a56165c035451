"""A run killed with `kill -9` at random moments, then rerun, pays once for every committed request
and ends with the stats of a run that was never interrupted, byte for byte.

The model counts its real calls in a file (tests/counting_client.py). After each kill the cache file
says which requests were committed. A request whose answer came back but whose commit had not
happened when the process died is legitimately asked again; at most `execution.num_threads` of them
per kill (the requests in flight). Everything else must never be asked twice.
"""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import REPO, TESTS, run_folder
from counting_client import request_hash

from crfm_eval.runner.readers import iter_request_states

THREADS = 2
REQUESTS = 80
SEED = 6


def command(shared_data: Path, output_dir: Path, calls_file: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crfm_eval",
        "scenario=boolq",
        "adaptation=5shot",
        "model=simple",
        "model.client=counting_client.CountingClient",
        "model.args.latency=0.05",
        f"+model.args.calls_file={calls_file}",
        f"max_eval_instances={REQUESTS}",
        f"execution.num_threads={THREADS}",
        "execution.progress=false",
        f"data_dir={shared_data}",
        f"output_dir={output_dir}",
    ]


def start(shared_data: Path, output_dir: Path, calls_file: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)]), "CRFM_EVAL_OFFLINE": "1"}
    return subprocess.Popen(
        command(shared_data, output_dir, calls_file),
        cwd=output_dir.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def calls(calls_file: Path) -> list[str]:
    return calls_file.read_text().split() if calls_file.exists() else []


def committed(output_dir: Path) -> set[str]:
    """Hashes of the requests whose results the cache holds."""
    cache = output_dir / "cache" / "simple_deterministic.sqlite"
    if not cache.exists():
        return set()
    with sqlite3.connect(str(cache)) as connection:
        keys = [row[0] for row in connection.execute('SELECT key FROM "requests"')]
    return {request_hash(json.loads(key)["request"]) for key in keys}


def written(output_dir: Path) -> list[str]:
    """Hashes of the requests the run folder holds, in file order (whole lines only)."""
    run_dirs = list((output_dir / "runs" / "default").glob("*/"))
    return [request_hash(state["request"]) for run_dir in run_dirs for state in iter_request_states(run_dir)]


def wait_for_calls(process: subprocess.Popen, calls_file: Path, count: int) -> None:
    while len(calls(calls_file)) < count:
        assert process.poll() is None, f"the run ended before it could be killed:\n{process.stdout.read()}"
        time.sleep(0.005)


def test_killed_run_resumes_without_paying_twice(tmp_path, shared_data):
    rng = random.Random(SEED)
    reference_dir, resumed_dir = tmp_path / "reference" / "outputs", tmp_path / "resumed" / "outputs"
    for folder in (reference_dir, resumed_dir):
        folder.parent.mkdir()
    reference_calls, resumed_calls = tmp_path / "reference_calls.txt", tmp_path / "resumed_calls.txt"

    reference = start(shared_data, reference_dir, reference_calls)
    assert reference.wait(timeout=300) == 0, reference.stdout.read()
    assert len(calls(reference_calls)) == REQUESTS

    kills = []  # per kill: the calls made before it, and what the cache held after it
    reference_order = written(reference_dir)
    for attempt in range(4):
        process = start(shared_data, resumed_dir, resumed_calls)
        before = len(calls(resumed_calls))
        if attempt == 0:
            time.sleep(rng.uniform(0.5, 1.5))  # anywhere: start-up, reading data, the first requests
        else:
            wait_for_calls(process, resumed_calls, before + rng.randint(2, 10))
            time.sleep(rng.uniform(0.0, 0.08))
        assert process.poll() is None, "the run ended before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        kills.append((len(calls(resumed_calls)), committed(resumed_dir)))
        # The killed run's folder holds its finished work: a prefix of the requests, in order, each committed.
        in_folder = written(resumed_dir)
        assert in_folder == reference_order[: len(in_folder)] and set(in_folder) <= kills[-1][1]

    final = start(shared_data, resumed_dir, resumed_calls)
    output = final.communicate(timeout=300)[0]
    assert final.returncode == 0, output

    all_calls = calls(resumed_calls)
    repeated_allowed = 0
    for index, (calls_before, held) in enumerate(kills):
        asked_before, asked_after = set(all_calls[:calls_before]), all_calls[calls_before:]
        assert held <= asked_before  # the cache holds only what was asked
        # Zero repeated upstream calls for committed requests:
        assert not held & set(asked_after), f"kill {index}: a committed request was asked again"
        in_flight = asked_before - held  # answered, not yet committed when the process died
        assert len(in_flight) <= THREADS
        repeated_allowed += len(in_flight & set(asked_after))
        print(f"kill {index}: {calls_before} calls, {len(held)} committed, {len(in_flight)} answered in flight")
    run_dir = run_folder(resumed_dir)
    reference_run = run_folder(reference_dir)
    states = list(iter_request_states(run_dir))
    assert {request_hash(state["request"]) for state in states} == set(all_calls)
    assert len(all_calls) == REQUESTS + repeated_allowed
    # The kills landed mid-run: each of the last three came after new calls, and work was left for the rerun.
    counts = [0] + [kill[0] for kill in kills]
    assert all(later > earlier for earlier, later in zip(counts[1:], counts[2:], strict=False)) and counts[-1] < len(
        all_calls
    ), counts
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["num_requests"] == REQUESTS and manifest["num_failed_requests"] == 0
    assert manifest["num_model_calls"] + manifest["num_cache_hits"] == REQUESTS
    for name in ("stats.json", "per_instance_stats.jsonl"):
        assert (run_dir / name).read_bytes() == (reference_run / name).read_bytes(), name
    summary = json.loads((resumed_dir / "runs" / "default" / "summary.json").read_text())
    assert [(run["run_name"], run["status"]) for run in summary["runs"]] == [(run_dir.name, "complete")]
