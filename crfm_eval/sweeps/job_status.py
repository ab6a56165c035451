"""status.json: what the last job of a run folder did, for runs that leave no manifest behind, and
which run the folder belongs to (`identity`, see `runner/resume.py`).

It is written when a job starts and again when it ends, with the one-line error that ended it, if
any. A job killed with `kill -9` leaves it without an end: the summary calls such a run partial.
"""

import os
import socket
import time
from pathlib import Path
from typing import Any, Optional

from crfm_eval.errors import UserError
from crfm_eval.json_io import read_json, write_json
from crfm_eval.redaction import redact
from crfm_eval.runner.identity import identity_settings
from crfm_eval.specs import RunSpec

STATUS_FILE = "status.json"


def record_start(run_dir: Path, run_spec: RunSpec) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(
        run_dir / STATUS_FILE,
        {
            "run_name": run_spec.run_name,
            "suite": run_spec.suite,
            "model": run_spec.model.name,
            "scenario": run_spec.scenario.name,
            "adaptation": run_spec.adaptation.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started_at": time.time(),
            "ended_at": None,
            "error": None,
            # The settings that can change a number: this folder now belongs to this run.
            "identity": identity_settings(run_spec),
        },
    )


def record_end(run_dir: Path, error: Optional[str], interrupted: bool = False) -> None:
    """The job is over; `error` is the one line that says why it failed, or None. An interrupted job
    (Ctrl-C) is partial, not failed: the same command resumes it."""
    status = read_status(run_dir) or {}
    status.update(ended_at=time.time(), error=None if error is None else redact(error), interrupted=interrupted)
    write_json(run_dir / STATUS_FILE, status)


def read_status(run_dir: Path) -> Optional[dict[str, Any]]:
    try:
        return read_json(run_dir / STATUS_FILE)
    except (OSError, ValueError):
        return None


def one_line(error: BaseException) -> str:
    """The error as one line: a UserError's sentence, or the type and message of a bug."""
    text = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
    return " ".join(text.split())
