"""One job of `python -m crfm_eval`: run, record the outcome, rebuild the suite summary.

A single run that fails exits with status 1 and its one sentence, as before. In a sweep (`-m`),
a failing job must not stop the others: Hydra's launchers keep going after a job raises, but the
basic sweeper then re-raises the first error with a traceback, and `sys.exit` inside a job would
end the whole sweep of the basic launcher. So a job of a sweep records its error, logs it (a bug
with its traceback, in the run's crfm_eval.log) and returns; `SweepReport` prints one line per
failed job once the sweep is over and sets the exit status.
"""

import logging
import sys

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from crfm_eval.cost.dry_run import RunEstimate, estimate
from crfm_eval.errors import UserError
from crfm_eval.runner.outputs import run_dir_of
from crfm_eval.runner.resume import check_same_run
from crfm_eval.runner.runner import RunInterrupted, run
from crfm_eval.specs import RunSpec
from crfm_eval.sweeps.job_status import one_line, record_end, record_start
from crfm_eval.sweeps.summary import write_summary

log = logging.getLogger(__name__)


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


DRY_RUN_ESTIMATES: list[RunEstimate] = []
"""The estimates of the dry-run jobs of this process, for the sweep's total (`SweepReport`)."""


def run_job(run_spec: RunSpec) -> None:
    """Run `run_spec`; a UserError reaches the caller only outside a sweep."""
    if run_spec.dry_run:
        _dry_run(run_spec)
        return
    run_dir = run_dir_of(run_spec)
    check_same_run(run_dir, run_spec)  # before status.json claims the folder
    record_start(run_dir, run_spec)
    try:
        run(run_spec)
    except KeyboardInterrupt as interrupt:
        _interrupted(run_spec, interrupt)
    except Exception as error:
        record_end(run_dir, one_line(error))
        write_summary(run_dir.parent)
        if not in_sweep():
            raise
        if isinstance(error, UserError):
            log.error("%s", error)
        else:
            log.exception("%s failed with a bug; the sweep goes on", run_spec.run_name)
        return
    record_end(run_dir, None)
    write_summary(run_dir.parent)


def _interrupted(run_spec: RunSpec, interrupt: KeyboardInterrupt) -> None:
    """Ctrl-C: record it, say in one line what is kept (in a sweep, also which runs are complete), and
    end the whole command with status 130 (SystemExit passes through Hydra's launchers untouched)."""
    run_dir = run_dir_of(run_spec)
    record_end(run_dir, "interrupted (Ctrl-C)", interrupted=True)
    summary = write_summary(run_dir.parent)
    if isinstance(interrupt, RunInterrupted):
        progress = interrupt.progress
    else:  # before the requests (loading data, adapting) or after them (stats, files)
        progress = "finished requests are in the cache"
    if in_sweep():
        complete = [run["run_name"] for run in summary["runs"] if run["status"] == "complete"]
        line = (
            f"Sweep interrupted in {run_spec.run_name} ({progress}); {len(complete)} run(s) of suite "
            f"{run_spec.suite} complete ({', '.join(complete) or 'none'}); run the same command again to resume "
            "(complete runs are skipped)."
        )
    elif isinstance(interrupt, RunInterrupted):
        line = str(interrupt)
    else:
        line = f"Interrupted: {progress}; run the same command again to resume."
    print(line, file=sys.stderr)
    raise SystemExit(130)


def _dry_run(run_spec: RunSpec) -> None:
    """Print what the run would send and cost; no status, summary or run folder is written."""
    try:
        found = estimate(run_spec)
    except UserError as error:
        if not in_sweep():
            raise
        log.error("%s (dry run): %s", run_spec.run_name, error)
        return
    DRY_RUN_ESTIMATES.append(found)
    # Printed, not logged: it is the command's output (a log line would also go to a log file).
    print(found.line(), flush=True)
    if not in_sweep():
        print("Nothing was sent and no run folder written (dry_run=true).", flush=True)
