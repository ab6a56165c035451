"""The Hydra callback that closes a sweep (registered in conf/config.yaml, `hydra.callbacks`).

It runs in the process that launched the sweep, whichever launcher ran the jobs: it rebuilds the
suite's summary.json, prints one line per job of this sweep that ended with an error, and exits
with status 1 if there was one (jobs of a sweep return normally so that the others go on; see
`crfm_eval.sweeps.job`). "Of this sweep": the job ended after the sweep started, so failures
left by an earlier sweep in the same suite are listed in the summary but do not fail this one.
"""

import sys
import time
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from crfm_eval.sweeps.summary import SUMMARY_FILE, write_summary


class SweepReport(Callback):
    def __init__(self) -> None:
        self.started_at = 0.0

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.started_at = time.time()

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if config.get("dry_run"):
            from crfm_eval.cost.dry_run import total_line  # here: the callback is built at every start
            from crfm_eval.sweeps.job import DRY_RUN_ESTIMATES

            if DRY_RUN_ESTIMATES:  # jobs run in this process (the default launcher)
                print(total_line(DRY_RUN_ESTIMATES), flush=True)
            return  # a dry run writes no summary
        suite_dir = Path(config.hydra.sweep.dir)
        if not suite_dir.is_dir():
            return
        summary = write_summary(suite_dir)
        failed = [run for run in summary["runs"] if run["error"] and (run["ended_at"] or 0) >= self.started_at]
        counts = ", ".join(f"{number} {state}" for state, number in summary["counts"].items())
        # Printed, not logged: after in-process jobs the root logger still writes to the last job's log.
        print(f"Suite {suite_dir}: {counts} (see {SUMMARY_FILE}).", file=sys.stderr)
        for run in failed:
            print(f"FAILED {run['run_name']}: {run['error']}", file=sys.stderr)
        if failed:
            raise SystemExit(1)  # SystemExit passes through Hydra's callback and error handlers
