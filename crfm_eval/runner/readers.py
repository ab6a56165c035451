"""Reading a run folder: the one place outside the runner that knows its file names and formats.

The site, the sweep summary and any script read run folders through these functions, never by
opening the files themselves, so the formats can change in one place. Request states and
per-instance stats are iterated one at a time (a run can hold 100,000 of them); a line cut short
by a killed run (the last one, without its newline, or not JSON) is skipped. Folders written by
earlier versions (`scenario_state.json`, `per_instance_stats.json`) are read too.

Everything comes back as plain JSON data (dicts), as the files hold it; `json_io.from_jsonable`
turns a dict into its dataclass (`RequestState`, `PerInstanceStats`, `Stat`) when needed.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import orjson

from crfm_eval.errors import UserError
from crfm_eval.json_io import read_json
from crfm_eval.runner.outputs import (
    EXECUTION_STATS_FILE,
    LEGACY_PER_INSTANCE_STATS_FILE,
    LEGACY_SCENARIO_STATE_FILE,
    MANIFEST_FILE,
    PER_INSTANCE_STATS_FILE,
    RUN_SPEC_FILE,
    SCENARIO_STATE_FILE,
    STATS_FILE,
)


def iter_jsonl(path: Path) -> Iterator[Any]:
    """The items of a JSONL file, one line at a time; a torn last line is skipped."""
    with open(path, "rb") as lines:
        for line in lines:
            if not line.endswith(b"\n"):
                return  # the last line of a killed run, cut short
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                return  # only a torn write can make a line that is not JSON, and only the last one


def iter_request_states(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every request state of the run, in request order (none if the run wrote none yet)."""
    path = run_dir / SCENARIO_STATE_FILE
    if path.exists():
        yield from iter_jsonl(path)
    elif (run_dir / LEGACY_SCENARIO_STATE_FILE).exists():
        yield from read_json(run_dir / LEGACY_SCENARIO_STATE_FILE).get("request_states", [])


def iter_per_instance_stats(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every per-instance entry (`instance_id`, `split`, `train_trial_index`, `values`), in request order."""
    path = run_dir / PER_INSTANCE_STATS_FILE
    if path.exists():
        yield from iter_jsonl(path)
    elif (run_dir / LEGACY_PER_INSTANCE_STATS_FILE).exists():
        yield from read_json(run_dir / LEGACY_PER_INSTANCE_STATS_FILE)


def read_run_spec(run_dir: Path) -> dict[str, Any]:
    return read_json(run_dir / RUN_SPEC_FILE)


def read_stats(run_dir: Path) -> list[dict[str, Any]]:
    return read_json(run_dir / STATS_FILE)


def read_execution_stats(run_dir: Path) -> list[dict[str, Any]]:
    """The stats that describe the execution (cache hits, failures); empty if the run has none."""
    path = run_dir / EXECUTION_STATS_FILE
    return read_json(path) if path.exists() else []


def read_manifest(run_dir: Path) -> Optional[dict[str, Any]]:
    """The manifest of a complete run, or None while the run is not complete."""
    path = run_dir / MANIFEST_FILE
    return read_json(path) if path.exists() else None


def is_complete(run_dir: Path) -> bool:
    return (run_dir / MANIFEST_FILE).exists()


def require_complete_run(run_dir: Path) -> None:
    """Stop with one sentence unless `run_dir` holds a complete run (its manifest is written last)."""
    if not (run_dir / RUN_SPEC_FILE).is_file():
        raise UserError(
            f"{run_dir} is not a run folder (no {RUN_SPEC_FILE}); give a folder such as outputs/runs/<suite>/<run>."
        )
    if not is_complete(run_dir):
        raise UserError(f"{run_dir} holds an unfinished run (no {MANIFEST_FILE}); run the same command again first.")
