"""Benchmark: BoolQ's whole dev set (3,270 instances, 5-shot) on the simple model, cold cache then warm.

    python bench/boolq_simple_cold_warm.py [--data-dir ../shared/data] [--threads 4]

Each run is the real command in a fresh process (Hydra start-up, data loading, adaptation, the
cache, metrics and every output file included). Prints, for each run: wall time and instances/s,
the CPU time the process used (user + system; less sensitive than wall time to a busy machine),
its peak RSS (wait4's: the largest of the run's process and the children it reaped, so on a cold
run the offline toxicity model's process, ~160 MB),
the manifest's phase times, and the load average before and after (the machine may be shared).
Each of cold and warm runs `--repeats` times (a fresh output folder per cold run). `--checkout
/work/main` runs another checkout's code with the same command: run both, alternating, to compare
versions under the same load.
"""

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench_common import REPO, boolq_simple_command, default_data_dir, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--checkout", type=Path, default=REPO, help="run this checkout's code (e.g. /work/main, to compare versions)"
    )
    args = parser.parse_args()
    for _ in range(args.repeats):
        cold_then_warm(args)
    print(
        f"reproduce: python bench/boolq_simple_cold_warm.py --threads {args.threads} --repeats {args.repeats} "
        f"--checkout {args.checkout}"
    )


def timed_run(command: list[str], checkout: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) of `command` run to completion in a fresh process."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=checkout, stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)  # this process's own CPU and peak memory
        wall = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"the run failed:\n{errors.read().decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def cold_then_warm(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="crfm_eval_bench_") as output_dir:
        command = boolq_simple_command(
            args.data_dir,
            output_dir,
            f"execution.num_threads={args.threads}",
            "execution.progress=false",
            "force=true",  # the warm run must run again, not be skipped as already complete
        )
        print("command:", " ".join(command[1:]))
        for label in ("cold", "warm"):
            before = load()
            wall, cpu, peak = timed_run(command, args.checkout)
            manifest_path = next(Path(output_dir, "runs").glob("*/*/manifest.json"))
            manifest = json.loads(manifest_path.read_text())
            instances = manifest["num_instances"]
            phases = ", ".join(
                f"{name.removesuffix('_seconds')} {manifest[name]:.2f}"
                for name in ("setup_seconds", "execute_seconds", "cpu_seconds_before_run", "cpu_seconds")
                if name in manifest
            )
            print(
                f"{label}: {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {peak:.0f} MB, {instances / wall:.0f} instances/s "
                f"({instances} instances, {manifest['num_model_calls']} model calls, "
                f"{manifest['num_cache_hits']} cache hits; inside the run: {manifest['wall_time_seconds']:.2f} s wall, "
                f"{phases}) | {before}; after: {load()}",
                flush=True,
            )


if __name__ == "__main__":
    main()
