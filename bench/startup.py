"""Benchmark: how long `python -m crfm_eval --help` takes, against the interpreter's own start-up.

    python bench/startup.py [--repeats 10]

Runs, alternating, `--repeats` times each: `python -c pass` (the floor: interpreter and site
packages), `python -m crfm_eval --help` (answered before Hydra is imported), and
`python -m crfm_eval --help seed=0` (any override: Hydra's own help, which composes the config).
Prints the best and the median wall time and CPU time (user + system) of each, and the load
average before and after (the machine may be shared). HELM's `helm-run --help` took 0.5-0.6 s on
this machine when issue 16 was filed.
"""

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench_common import load

REPO = Path(__file__).resolve().parents[1]
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -m crfm_eval --help": [sys.executable, "-m", "crfm_eval", "--help"],
    "python -m crfm_eval --help seed=0": [sys.executable, "-m", "crfm_eval", "--help", "seed=0"],
}


def timed(command: list[str]) -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, cwd=REPO)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - usage.ru_utime) + (after.ru_stime - usage.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    before = load()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):
        for name, command in COMMANDS.items():
            times[name].append(timed(command))
    for name, runs in times.items():
        walls, cpus = [wall for wall, _ in runs], [cpu for _, cpu in runs]
        print(
            f"{name}: wall best {min(walls):.3f} s, median {statistics.median(walls):.3f} s; "
            f"CPU best {min(cpus):.3f} s, median {statistics.median(cpus):.3f} s"
        )
    print(f"{before}; after: {load()}")
    print(f"reproduce: python bench/startup.py --repeats {args.repeats}")


if __name__ == "__main__":
    main()
