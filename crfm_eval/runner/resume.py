"""Skipping runs that are already done, refusing to overwrite a different run, and marking a run
folder that is about to be rewritten.

A folder belongs to the run whose identity (`runner/identity.py`: the settings that can change a
number) it records: status.json holds the identity of the last job that started there, run_spec.json
the spec of the last outputs written. A complete run (manifest.json written last, no failed request)
of the same identity is skipped, whatever the settings that change no number (threads, progress,
cache folder); a different run is refused unless `force=true`.
"""

from pathlib import Path
from typing import Any, Optional

from crfm_eval.errors import UserError
from crfm_eval.json_io import from_jsonable, read_json
from crfm_eval.runner.identity import differences, identity_settings
from crfm_eval.runner.outputs import MANIFEST_FILE, RUN_SPEC_FILE, STATS_FILE
from crfm_eval.specs import RunSpec
from crfm_eval.states import Stat
from crfm_eval.sweeps.job_status import STATUS_FILE

MAX_LISTED = 3
"""Differences named in the refusal (the first ones, by key)."""


def _read(path: Path) -> Optional[Any]:
    try:
        return read_json(path)
    except (OSError, ValueError):  # missing or unreadable
        return None


def recorded_identity(run_dir: Path) -> Optional[dict[str, Any]]:
    """The identity of the run the folder holds: the last job's claim, else the outputs' spec."""
    status = _read(run_dir / STATUS_FILE)
    if isinstance(status, dict) and isinstance(status.get("identity"), dict):
        return status["identity"]
    recorded = _read(run_dir / RUN_SPEC_FILE)
    return identity_settings(recorded) if isinstance(recorded, dict) else None


def check_same_run(run_dir: Path, run_spec: RunSpec) -> None:
    """Raise UserError if `run_dir` holds a different run and `force` is not set."""
    if run_spec.force:
        return
    recorded = recorded_identity(run_dir)
    if recorded is None:
        return
    found = differences(recorded, identity_settings(run_spec))
    if not found:
        return
    listed = "; ".join(
        f"{key}: {before!r} there, {after!r} now" for key, (before, after) in list(found.items())[:MAX_LISTED]
    )
    more = f" and {len(found) - MAX_LISTED} more" if len(found) > MAX_LISTED else ""
    raise UserError(
        f"{run_dir} holds a different run ({listed}{more}); give this one another run_name=... "
        "or pass force=true to replace it."
    )


def completed_stats(run_dir: Path, run_spec: RunSpec) -> Optional[list[Stat]]:
    """The stats of the complete run of `run_spec` in `run_dir`, or None if it must run (again)."""
    manifest, recorded, stats = (_read(run_dir / name) for name in (MANIFEST_FILE, RUN_SPEC_FILE, STATS_FILE))
    if not isinstance(manifest, dict) or not isinstance(recorded, dict) or not isinstance(stats, list):
        return None
    if manifest.get("num_failed_requests") != 0:
        return None
    if differences(identity_settings(recorded), identity_settings(run_spec)):
        return None
    return [from_jsonable(Stat, stat) for stat in stats]


def mark_incomplete(run_dir: Path) -> None:
    """Remove the manifest before the folder's files are rewritten: until the new one is written
    (last), the folder is not a complete run, whatever happens to this process."""
    (run_dir / MANIFEST_FILE).unlink(missing_ok=True)
