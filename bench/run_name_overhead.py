"""What the automatic run name costs: composing a RunSpec with `run_name` computed (which composes the
same config groups a second time, without key overrides, to find the settings that differ) against
the same composition with `run_name=...` given.

    python bench/run_name_overhead.py [--repeats 20]

Each composition runs in a fresh Hydra context, as a new process would (the reference composition
is cached within a process, so a sweep pays it once per distinct choice of groups).
"""

import argparse
import os
import statistics
import time

from crfm_eval.config_schema import _names, _reference_spec, compose_run_spec

OVERRIDES = ("model=simple", "seed=1", "max_eval_instances=50", "adaptation.temperature=0.5")


def timed(*overrides: str) -> float:
    _reference_spec.cache_clear()
    _names.clear()
    start = time.perf_counter()
    compose_run_spec(*overrides)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    timed(*OVERRIDES)  # imports and first-use costs out of the way
    automatic = [timed(*OVERRIDES) for _ in range(args.repeats)]
    explicit = [timed(*OVERRIDES, "run_name=given") for _ in range(args.repeats)]
    print(f"compose with the automatic run name: median {statistics.median(automatic) * 1000:.0f} ms")
    print(f"compose with run_name given:         median {statistics.median(explicit) * 1000:.0f} ms")
    print(
        f"cost of the automatic name:          {(statistics.median(automatic) - statistics.median(explicit)) * 1000:.0f} ms"
    )
    print(f"load average (1, 5, 15 min): {os.getloadavg()}  ({args.repeats} repeats each)")


if __name__ == "__main__":
    main()
