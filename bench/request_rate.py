"""Benchmark: the request rate of a run against a server that answers in exactly LATENCY seconds.

    python bench/request_rate.py [--latency 0.05] [--requests 1000] [--threads 4 16 64] [--repeats 1]

Starts bench/fixed_latency_server.py (OpenAI-compatible, 127.0.0.1), then runs the real command
`python -m crfm_eval scenario=boolq adaptation=5shot model=openai-compatible ...` with a cold cache
once per thread count (and per repeat), each in a fresh process and a fresh output folder. With N
requests in flight and every answer taking LATENCY, no client can do better than N / LATENCY
requests per second: that is the physical limit. Printed per run:

- execute: requests / the run's execute phase (from the first request sent to the last result
  stored; the manifest's `execute_seconds`), as a fraction of the limit;
- whole command: requests / the wall time of the whole command (start-up, data, adaptation,
  execution, metrics, output files), as a fraction of the limit;
- the CPU time the execute phase used per request (all threads): on a busy machine wall times
  suffer first, and this says what one core could do.

The load average is printed before and after every run: the machine may be shared.
`--checkout /work/main` runs another checkout's code (versions before issue 16 report only the
whole command: their manifest has no phase times).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import REPO, default_data_dir, load


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        [sys.executable, str(REPO / "bench" / "fixed_latency_server.py"), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    line = server.stdout.readline()  # "listening on http://127.0.0.1:PORT/v1 ..."
    if not line.startswith("listening on "):
        server.kill()
        raise SystemExit(f"the fixed-latency server did not start: {line!r}")
    return server, line.split()[2]


def run_overrides(base_url: str, requests: int, threads: int, data_dir: str, output_dir: str) -> list[str]:
    """The run this benchmark times: BoolQ 5-shot against the server, `requests` requests, `threads` threads."""
    return [
        "scenario=boolq",
        "adaptation=5shot",
        "model=openai-compatible",
        f"model.args.base_url={base_url}",
        f"max_eval_instances={requests}",
        f"execution.num_threads={threads}",
        "execution.progress=false",
        f"data_dir={data_dir}",
        f"output_dir={output_dir}",
    ]


def one_run(base_url: str, data_dir: str, requests: int, threads: int, checkout: Path) -> tuple[list[str], float, dict]:
    with tempfile.TemporaryDirectory(prefix="crfm_eval_rate_") as output_dir:
        command = [sys.executable, "-m", "crfm_eval", *run_overrides(base_url, requests, threads, data_dir, output_dir)]
        start = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, text=True, cwd=checkout)
        wall = time.perf_counter() - start
        if completed.returncode != 0:
            raise SystemExit(f"the run failed:\n{completed.stdout}{completed.stderr}")
        manifest = json.loads(next(Path(output_dir, "runs").glob("*/*/manifest.json")).read_text())
    return command, wall, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--threads", type=int, nargs="+", default=[4, 16, 64])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--checkout", type=Path, default=REPO, help="run this checkout's code (e.g. /work/main, to compare versions)"
    )
    parser.add_argument("--data-dir", default=default_data_dir())
    args = parser.parse_args()
    server, base_url = start_server(args.latency)
    print(f"fixed-latency server at {base_url}, latency {args.latency * 1000:.0f} ms; {os.cpu_count()} cores")
    command: list[str] = []
    try:
        for _ in range(args.repeats):
            for threads in args.threads:
                limit = threads / args.latency
                before = load()
                command, wall, manifest = one_run(base_url, args.data_dir, args.requests, threads, args.checkout)
                calls = manifest["num_model_calls"]
                execute = manifest.get("execute_seconds")  # absent in versions before issue 16
                if execute is not None:
                    cpu_per_request = manifest["execute_cpu_seconds"] / manifest["num_requests"]
                    inside = (
                        f"execute {calls / execute:.0f} req/s = {calls / execute / limit:.3f} of the limit "
                        f"({execute:.2f} s) | "
                    )
                    cpu = (
                        f" | execute CPU {cpu_per_request * 1000:.2f} ms/request (one core, under the GIL, does "
                        f"at most {1 / cpu_per_request:.0f} req/s), whole command {manifest['cpu_seconds']:.2f} s CPU"
                    )
                else:
                    inside, cpu = "", ""
                print(
                    f"{threads:3d} threads: limit {limit:.0f} req/s | {inside}whole command "
                    f"{calls / wall:.0f} req/s = {calls / wall / limit:.3f} ({wall:.2f} s) | "
                    f"{calls} model calls{cpu} | {before}; after: {load()}",
                    flush=True,
                )
    finally:
        server.kill()
        server.wait()
    shown = " ".join(part for part in command[1:] if not part.startswith(("output_dir=", "model.args.base_url=")))
    print(f"each run: {shown} model.args.base_url=<server> output_dir=<fresh folder>")
    print(
        f"reproduce: python bench/request_rate.py --latency {args.latency} --requests {args.requests} "
        f"--threads {' '.join(map(str, args.threads))} --repeats {args.repeats} --checkout {args.checkout}"
    )


if __name__ == "__main__":
    main()
