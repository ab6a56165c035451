"""Reading a run folder: the one place outside the runner that knows its file names and formats.

The site, the sweep summary and any script read run folders through these functions, never by
opening the files themselves, so the formats can change in one place. Request states and
per-instance stats are iterated one at a time (a run can hold 100,000 of them); a line cut short
by a killed run (the last one, without its newline, or not JSON) is skipped. Folders written by
earlier versions (`scenario_state.json`, `per_instance_stats.json`) are read too.

Everything comes back as plain JSON data (dicts), as the files hold it; `json_io.from_jsonable`
turns a dict into its dataclass (`RequestState`, `PerInstanceStats`, `Stat`) when needed (that
costs ~100 µs per request state, i.e. seconds per run: the site does not).
"""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import orjson

from crfm_eval.errors import UserError
from crfm_eval.runner.metric_info import METRIC_INFO_FILE
from crfm_eval.runner.metric_info import read_metric_info as _read_metric_info
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
from crfm_eval.sweeps.job_status import STATUS_FILE
from crfm_eval.sweeps.job_status import read_status as _read_status

RECORD_FILES = (
    RUN_SPEC_FILE,
    SCENARIO_STATE_FILE,
    LEGACY_SCENARIO_STATE_FILE,
    PER_INSTANCE_STATS_FILE,
    LEGACY_PER_INSTANCE_STATS_FILE,
    STATS_FILE,
    EXECUTION_STATS_FILE,
    METRIC_INFO_FILE,
    MANIFEST_FILE,
    STATUS_FILE,
)
"""The files that make up a run's record: when none of them changed, nothing read from the run did."""


def read_json(path: Path) -> Any:
    """A JSON file, parsed by orjson (twice the speed of the json module on a 15 MB file).

    orjson refuses a lone surrogate escape (`"\\ud800"`), which the json module accepts and our
    files may hold (model output is arbitrary text): such a file is parsed by the json module.
    """
    content = path.read_bytes()
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def _loads_line(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)  # a lone surrogate escape (see read_json), or not JSON: raises


def iter_jsonl(path: Path) -> Iterator[Any]:
    """The items of a JSONL file, one line at a time; a torn last line is skipped."""
    with open(path, "rb") as lines:
        for line in lines:
            if not line.endswith(b"\n"):
                return  # the last line of a killed run, cut short
            try:
                yield _loads_line(line)
            except ValueError:
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


def read_metric_info(run_dir: Path) -> dict[str, dict[str, Any]]:
    """metric_info.json: stat name -> what it is (group, display name, description, lower_is_better);
    empty for runs written before the file existed. The metrics' own reader (runner/metric_info.py)."""
    return _read_metric_info(run_dir)


def read_status(run_dir: Path) -> Optional[dict[str, Any]]:
    """status.json: when the last job of this folder started and ended, and its one-line error if it failed."""
    return _read_status(run_dir)


def is_complete(run_dir: Path) -> bool:
    """The run's outputs are all written (the manifest is written last)."""
    return (run_dir / MANIFEST_FILE).exists()


def looks_like_run(run_dir: Path) -> bool:
    """The folder holds (or held the start of) a run, rather than being some other folder."""
    return any((run_dir / name).exists() for name in (MANIFEST_FILE, RUN_SPEC_FILE, STATUS_FILE))


def record_signature(run_dir: Path) -> list[tuple[str, int, int]]:
    """(file name, size, modification time in ns) of each record file present: a cheap change detector.

    A rewritten file gets a new modification time, so a reader can skip a run whose signature it
    has already processed without opening any file.
    """
    signature = []
    for name in RECORD_FILES:
        try:
            info = (run_dir / name).stat()
        except OSError:
            continue
        signature.append((name, info.st_size, info.st_mtime_ns))
    return signature


def require_complete_run(run_dir: Path) -> None:
    """Stop with one sentence unless `run_dir` holds a complete run (its manifest is written last)."""
    if not (run_dir / RUN_SPEC_FILE).is_file():
        raise UserError(
            f"{run_dir} is not a run folder (no {RUN_SPEC_FILE}); give a folder such as outputs/runs/<suite>/<run>."
        )
    if not is_complete(run_dir):
        raise UserError(f"{run_dir} holds an unfinished run (no {MANIFEST_FILE}); run the same command again first.")
