"""Benchmark: BoolQ's whole dev set (3,270 instances, 5-shot) on the simple model, cold cache then warm.

    python bench/boolq_simple_cold_warm.py [--data-dir ../shared/data] [--threads 4]

Each run is the real command in a fresh process (Hydra start-up, data loading, adaptation, the
cache, metrics and every output file included). Prints wall time and instances/s for each run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data-dir", default=os.environ.get("CRFM_EVAL_DATA_DIR", str(REPO.parent / "shared" / "data"))
    )
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crfm_eval_bench_") as output_dir:
        command = [
            sys.executable,
            "-m",
            "crfm_eval",
            "scenario=boolq",
            "adaptation=5shot",
            "model=simple",
            "max_eval_instances=null",
            f"data_dir={args.data_dir}",
            f"output_dir={output_dir}",
            f"execution.num_threads={args.threads}",
            "execution.progress=false",
            "force=true",  # the warm run must run again, not be skipped as already complete
        ]
        print("command:", " ".join(command[1:]))
        for label in ("cold", "warm"):
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO)
            wall = time.perf_counter() - start
            manifest_path = next(Path(output_dir, "runs").glob("*/*/manifest.json"))
            manifest = json.loads(manifest_path.read_text())
            instances = manifest["num_instances"]
            print(
                f"{label}: {wall:.2f} s wall, {instances / wall:.0f} instances/s "
                f"({instances} instances, {manifest['num_model_calls']} model calls, "
                f"{manifest['num_cache_hits']} cache hits, {manifest['wall_time_seconds']:.2f} s inside the run)"
            )
    print("reproduce: python bench/boolq_simple_cold_warm.py")


if __name__ == "__main__":
    main()
