"""Benchmark: peak memory of a run as the number of instances grows (it should not grow).

    python bench/streaming_memory.py [--sizes 10000 100000] [--threads 4] [--adaptation 5shot]

For each size N: writes a JSONL file of N test questions and 100 train questions
(bench/synthetic_scenario.py), then runs the real command on the simple model with a cold cache:

    python -m crfm_eval scenario._target_=synthetic_scenario.SyntheticJsonlScenario scenario.name=synthetic
        '~scenario.args.contrast_sets' '~scenario.args.contrast_flipped_only' +scenario.args.path=FILE adaptation=5shot model=simple max_eval_instances=null ...

Prints the peak RSS of the run's process (its VmHWM, read every 0.25 s until it exits), its RSS
sampled along the run, the peak of any of its processes (wait4: the offline toxicity model runs in
a child process of its own, ~160 MB of scikit-learn, whatever the run's size), wall and CPU time,
and the load average before and after (the machine may be shared); then the ratio of the largest to
the smallest size's peak of the run's process (goal: at most 1.3, and every peak under 300 MB).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(REPO), str(BENCH)]

from bench_common import load  # noqa: E402
from synthetic_scenario import make_file  # noqa: E402

from crfm_eval.runner.readers import read_manifest, read_stats  # noqa: E402


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """The process's current RSS (VmRSS) or its peak so far (VmHWM), in MB; 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def one_run(
    size: int, threads: int, adaptation: str, folder: Path
) -> tuple[float, float, list[float], float, float, dict]:
    """(peak RSS MB of the run's process, of any of its processes, RSS samples MB, wall s, CPU s,
    manifest) of one cold run over `size` instances."""
    data = folder / f"synthetic_{size}.jsonl"
    make_file(data, size)
    command = [
        sys.executable,
        "-m",
        "crfm_eval",
        "scenario._target_=synthetic_scenario.SyntheticJsonlScenario",
        "scenario.name=synthetic",
        # The default scenario's (BoolQ's) own arguments do not apply to this one.
        "~scenario.args.contrast_sets",
        "~scenario.args.contrast_flipped_only",
        f"+scenario.args.path={data}",
        f"adaptation={adaptation}",
        "model=simple",
        "max_eval_instances=null",
        f"execution.num_threads={threads}",
        "execution.progress=false",
        f"output_dir={folder / f'outputs_{size}'}",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(BENCH)])}
    start = time.perf_counter()
    errors = open(folder / f"stderr_{size}.txt", "w+b")  # not a pipe: a full pipe would block the run
    process = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    samples, own_peak = [], 0.0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)  # the peak of it and the children it reaped
        if pid:
            break
        if rss := rss_mb(process.pid):  # 0 once the process is gone but not yet reaped
            samples.append(rss)
            own_peak = max(own_peak, rss_mb(process.pid, "VmHWM"))
        time.sleep(0.25)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    errors.seek(0)
    message = errors.read().decode()
    errors.close()
    if process.returncode != 0:
        raise SystemExit(f"the run failed:\n{message}")
    run_dir = next((folder / f"outputs_{size}").glob("runs/*/*/run_spec.json")).parent
    manifest = read_manifest(run_dir) or {}
    shots = [
        s["mean"] for s in read_stats(run_dir) if s["name"] == "num_train_instances" and s.get("sub_split") is None
    ]
    manifest["in_context_examples"] = shots[0] if shots else None
    return own_peak, usage.ru_maxrss / 1024, samples, wall, usage.ru_utime + usage.ru_stime, manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--adaptation", default="5shot")
    args = parser.parse_args()
    peaks = {}
    with tempfile.TemporaryDirectory(prefix="crfm_eval_memory_") as temporary:
        for size in args.sizes:
            before = load()
            peak, any_peak, samples, wall, cpu, manifest = one_run(size, args.threads, args.adaptation, Path(temporary))
            peaks[size] = peak
            shown = [samples[int(len(samples) * fraction)] for fraction in (0.1, 0.25, 0.5, 0.75)] + samples[-1:]
            print(
                f"{size:,} instances: peak RSS {peak:.0f} MB (RSS sampled along the run, at 10/25/50/75/100% of it: "
                f"{' / '.join(f'{value:.0f}' for value in shown)} MB; any of its processes {any_peak:.0f} MB) | "
                f"{wall:.1f} s wall, {cpu:.1f} s CPU (its children's included), "
                f"{manifest['num_requests'] / wall:.0f} requests/s, {manifest['num_requests']:,} requests, "
                f"{manifest['in_context_examples']} in-context examples (mean) | "
                f"{before}; after: {load()}",
                flush=True,
            )
    smallest, largest = min(peaks), max(peaks)
    print(
        f"peak RSS at {largest:,} / at {smallest:,}: {peaks[largest] / peaks[smallest]:.2f} (goal <= 1.3); "
        f"largest peak {max(peaks.values()):.0f} MB (goal < 300 MB)"
    )
    print(
        f"reproduce: python bench/streaming_memory.py --sizes {' '.join(map(str, args.sizes))} "
        f"--threads {args.threads} --adaptation {args.adaptation}"
    )


if __name__ == "__main__":
    main()
