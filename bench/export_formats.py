"""Benchmark: exporting a whole BoolQ dev run (3,270 instances, 5-shot, simple model) to HELM's and
lm-eval's layouts.

    python bench/export_formats.py [--data-dir ../shared/data]

The run is made once with the real command; each export is the real command in a fresh process
(`python -m crfm_eval export --format F RUN_DIR OUT_DIR`). Prints wall time, peak RSS of the export
process, the size written, and the load average (the machine is shared: figures are noisy).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import REPO, boolq_simple_command, default_data_dir


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=default_data_dir())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crfm_eval_bench_") as work:
        run = boolq_simple_command(args.data_dir, f"{work}/outputs", "execution.progress=false")
        subprocess.run(run, check=True, capture_output=True, text=True, cwd=REPO)
        run_dir = next(Path(work, "outputs", "runs").glob("*/*/manifest.json")).parent
        print(f"run: {run_dir.name}, {_size(run_dir) / 1e6:.1f} MB of run files")
        for fmt in ("helm", "lm-eval"):
            out = Path(work, f"export-{fmt}")
            command = [sys.executable, "-m", "crfm_eval", "export", "--format", fmt, str(run_dir), str(out)]
            start = time.perf_counter()
            process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS (KiB on Linux)
            wall = time.perf_counter() - start
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"the export failed: {' '.join(command)}")
            print(
                f"{fmt}: {wall:.2f} s wall, peak RSS {usage.ru_maxrss / 1024:.0f} MB, {_size(out) / 1e6:.1f} MB written, "
                f"load average {os.getloadavg()[0]:.2f}"
            )
    print("reproduce: python bench/export_formats.py")


if __name__ == "__main__":
    main()
