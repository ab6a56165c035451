"""Skipping runs that are already done, and marking a run folder that is about to be rewritten.

A run folder holds a complete run when its manifest.json (written last) counts no failed request
and its run_spec.json is the spec asked for now. Rerunning the same command then does nothing;
a changed spec, a run with failures, or `force=true` runs again (the cache makes that cheap).
"""

import json
from pathlib import Path
from typing import Any, Optional

from crfm_eval.json_io import from_jsonable, read_json, to_jsonable
from crfm_eval.runner.outputs import MANIFEST_FILE, RUN_SPEC_FILE, STATS_FILE, without_secrets
from crfm_eval.specs import RunSpec
from crfm_eval.states import Stat

IGNORED_FIELDS = ("force",)
"""Fields of the RunSpec that do not change what a run computes."""


def spec_record(run_spec: RunSpec) -> dict[str, Any]:
    """The spec as run_spec.json holds it (JSON types, secrets redacted), without the fields that
    change nothing."""
    record = json.loads(json.dumps(to_jsonable(without_secrets(run_spec))))
    return _without_ignored(record)


def _without_ignored(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in IGNORED_FIELDS}


def completed_stats(run_dir: Path, run_spec: RunSpec) -> Optional[list[Stat]]:
    """The stats of the complete run of `run_spec` in `run_dir`, or None if it must run (again)."""
    try:
        manifest = read_json(run_dir / MANIFEST_FILE)
        recorded = read_json(run_dir / RUN_SPEC_FILE)
        stats = read_json(run_dir / STATS_FILE)
    except (OSError, ValueError):  # missing or unreadable: not complete
        return None
    if manifest.get("num_failed_requests") != 0 or _without_ignored(recorded) != spec_record(run_spec):
        return None
    return [from_jsonable(Stat, stat) for stat in stats]


def mark_incomplete(run_dir: Path) -> None:
    """Remove the manifest before the folder's files are rewritten: until the new one is written
    (last), the folder is not a complete run, whatever happens to this process."""
    (run_dir / MANIFEST_FILE).unlink(missing_ok=True)
