"""One job of `python -m crfm_eval`: run, record the outcome, rebuild the suite summary.

A single run that fails exits with status 1 and its one sentence, as before. In a sweep (`-m`),
a failing job must not stop the others: Hydra's launchers keep going after a job raises, but the
basic sweeper then re-raises the first error with a traceback, and `sys.exit` inside a job would
end the whole sweep of the basic launcher. So a job of a sweep records its error, logs it (a bug
with its traceback, in the run's crfm_eval.log) and returns; `SweepReport` prints one line per
failed job once the sweep is over and sets the exit status.
"""

import logging

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode

from crfm_eval.errors import UserError
from crfm_eval.runner.outputs import run_dir_of
from crfm_eval.runner.resume import check_same_run
from crfm_eval.runner.runner import run
from crfm_eval.specs import RunSpec
from crfm_eval.sweeps.job_status import one_line, record_end, record_start
from crfm_eval.sweeps.summary import write_summary

log = logging.getLogger(__name__)


def in_sweep() -> bool:
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def run_job(run_spec: RunSpec) -> None:
    """Run `run_spec`; a UserError reaches the caller only outside a sweep."""
    run_dir = run_dir_of(run_spec)
    check_same_run(run_dir, run_spec)  # before status.json claims the folder
    record_start(run_dir, run_spec)
    try:
        run(run_spec)
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
