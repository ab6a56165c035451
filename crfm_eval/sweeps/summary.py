"""`<output_dir>/runs/<suite>/summary.json`: every run of a suite, its status, main stats and wall time.

It is a pure function of the run folders, rebuilt whole at the end of every job and of every
sweep, so it can never drift from them: parallel jobs take turns under an exclusive file lock and
each writes the file atomically. Only run folders are listed (not `.submitit/` nor other files).

Status of a run:
- `complete`: manifest.json is there and no request failed;
- `partial`: outputs with failed requests (their error line is given), a job interrupted with
  Ctrl-C, or a job that started and has not ended: still running, or killed (rerun the same
  command to finish it);
- `failed`: the job ended with an error before writing outputs (the error line says why).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any, Optional

from crfm_eval.json_io import write_json
from crfm_eval.models.shared_sqlite import file_lock
from crfm_eval.runner.readers import read_manifest, read_run_spec, read_stats
from crfm_eval.sweeps.job_status import read_status

SUMMARY_FILE = "summary.json"
LOCK_FILE = ".summary.lock"
MAIN_STATS = ("exact_match", "quasi_exact_match")
"""Stats copied into the summary (mean, 95% interval, count), per split."""


def _read(reader: Callable[[Path], Any], run_dir: Path) -> Optional[Any]:
    """What `reader` reads from the run folder, or None when the file is missing or unreadable."""
    try:
        return reader(run_dir)
    except (OSError, ValueError):
        return None


def _main_stats(run_dir: Path) -> dict[str, dict[str, dict[str, Any]]]:
    by_split: dict[str, dict[str, dict[str, Any]]] = {}
    for stat in _read(read_stats, run_dir) or []:
        if stat["name"] in MAIN_STATS:
            by_split.setdefault(stat["split"], {})[stat["name"]] = {
                key: stat[key] for key in ("mean", "ci_low", "ci_high", "count")
            }
    return by_split


def _job_time(status: dict[str, Any]) -> Optional[float]:
    """Without a manifest, the time the last job took (None while it has not ended)."""
    if status.get("started_at") is None or status.get("ended_at") is None:
        return None
    return status["ended_at"] - status["started_at"]


def run_entry(run_dir: Path) -> Optional[dict[str, Any]]:
    """The summary of one run folder, or None if the folder is not a run."""
    status = read_status(run_dir)
    manifest = _read(read_manifest, run_dir)
    run_spec = _read(read_run_spec, run_dir)
    if status is None and manifest is None and run_spec is None:
        return None
    status = status or {}
    error = status.get("error")
    if manifest is not None:
        state = "complete" if manifest.get("num_failed_requests") == 0 else "partial"
    else:
        state = "failed" if error and not status.get("interrupted") else "partial"
    spec = run_spec or {}
    return {
        "run_name": run_dir.name,
        "status": state,
        "error": error if state != "complete" else None,
        "model": status.get("model") or spec.get("model", {}).get("name"),
        "scenario": status.get("scenario") or spec.get("scenario", {}).get("name"),
        "adaptation": status.get("adaptation") or spec.get("adaptation", {}).get("name"),
        "wall_time_seconds": (manifest or {}).get("wall_time_seconds") or _job_time(status),
        "num_instances": (manifest or {}).get("num_instances"),
        "num_requests": (manifest or {}).get("num_requests"),
        "num_failed_requests": (manifest or {}).get("num_failed_requests"),
        "started_at": status.get("started_at"),
        "ended_at": status.get("ended_at"),
        "stats": _main_stats(run_dir) if manifest is not None else {},
    }


def build_summary(suite_dir: Path) -> dict[str, Any]:
    runs = []
    for run_dir in sorted(path for path in suite_dir.iterdir() if path.is_dir() and not path.name.startswith(".")):
        entry = run_entry(run_dir)
        if entry is not None:
            runs.append(entry)
    counts = {state: sum(run["status"] == state for run in runs) for state in ("complete", "partial", "failed")}
    return {"suite": suite_dir.name, "counts": counts, "runs": runs}


def write_summary(suite_dir: Path) -> dict[str, Any]:
    """Rebuild summary.json from the run folders (one process at a time); returns it."""
    suite_dir.mkdir(parents=True, exist_ok=True)
    with file_lock(suite_dir / LOCK_FILE):
        summary = build_summary(suite_dir)
        write_json(suite_dir / SUMMARY_FILE, summary)
    return summary
