"""Reading a run folder: the functions everything outside the runner uses (the exporters, and the
site as it moves over), so that the files' names and formats are known in one place and can change
there (e.g. request states and per-instance stats streamed as JSON lines) without touching readers.

Request states and per-instance stats come as iterators: a caller that handles one at a time keeps
memory flat once the files are streamed.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crfm_eval.errors import UserError
from crfm_eval.json_io import from_jsonable, read_json
from crfm_eval.runner.outputs import (
    EXECUTION_STATS_FILE,
    MANIFEST_FILE,
    PER_INSTANCE_STATS_FILE,
    RUN_SPEC_FILE,
    SCENARIO_STATE_FILE,
    STATS_FILE,
)
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import PerInstanceStats, RequestState, Stat


def require_complete_run(run_dir: Path) -> None:
    """Stop with one sentence unless `run_dir` holds a complete run (its manifest is written last)."""
    if not (run_dir / RUN_SPEC_FILE).is_file():
        raise UserError(
            f"{run_dir} is not a run folder (no {RUN_SPEC_FILE}); give a folder such as outputs/runs/<suite>/<run>."
        )
    if not (run_dir / MANIFEST_FILE).is_file():
        raise UserError(f"{run_dir} holds an unfinished run (no {MANIFEST_FILE}); run the same command again first.")


def read_run_spec(run_dir: Path) -> dict[str, Any]:
    """The run's spec as recorded (JSON types; secrets already redacted)."""
    return read_json(run_dir / RUN_SPEC_FILE)


def read_adaptation_spec(run_dir: Path) -> AdaptationSpec:
    return from_jsonable(AdaptationSpec, read_run_spec(run_dir)["adaptation"])


def read_manifest(run_dir: Path) -> dict[str, Any]:
    return read_json(run_dir / MANIFEST_FILE)


def read_stats(run_dir: Path) -> list[Stat]:
    return [from_jsonable(Stat, stat) for stat in read_json(run_dir / STATS_FILE)]


def read_execution_stats(run_dir: Path) -> list[Stat]:
    path = run_dir / EXECUTION_STATS_FILE
    return [from_jsonable(Stat, stat) for stat in read_json(path)] if path.exists() else []


def iter_request_states(run_dir: Path) -> Iterator[RequestState]:
    """The run's request states, in the order they were adapted."""
    for state in read_json(run_dir / SCENARIO_STATE_FILE)["request_states"]:
        yield from_jsonable(RequestState, state)


def iter_per_instance_stats(run_dir: Path) -> Iterator[PerInstanceStats]:
    """The deterministic metric values of each (eval instance, train trial)."""
    for entry in read_json(run_dir / PER_INSTANCE_STATS_FILE):
        yield from_jsonable(PerInstanceStats, entry)
