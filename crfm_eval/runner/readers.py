"""Reading a run folder: the one way code outside runner/ gets at the files a run wrote.

The leaderboard site (and anything else that reads runs) calls these functions and never opens a
file name itself, so the run folder's formats can change here alone (e.g. scenario_state and the
per-instance stats as JSONL streams). The large files are offered as iterators: a caller that
goes through them one record at a time keeps working, with flat memory, once they are streamed.

Every function takes the run folder and returns plain JSON data (dicts and lists), the form the
files hold; none of them builds the dataclasses of states.py (that costs ~100 µs per request
state, i.e. seconds per run, and the site does not need it).
"""

import json
from pathlib import Path
from typing import Any, Iterator, Optional

import orjson

from crfm_eval.runner.metric_info import METRIC_INFO_FILE
from crfm_eval.runner.metric_info import read_metric_info as _read_metric_info
from crfm_eval.runner.outputs import (
    EXECUTION_STATS_FILE,
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
    PER_INSTANCE_STATS_FILE,
    STATS_FILE,
    EXECUTION_STATS_FILE,
    METRIC_INFO_FILE,
    MANIFEST_FILE,
    STATUS_FILE,
)
"""The files that make up a run's record: when none of them changed, nothing read from the run did."""


def read_json(path: Path) -> Any:
    """A JSON file, parsed by orjson (twice the speed of the json module on a 15 MB scenario_state).

    orjson refuses a lone surrogate escape (`"\\ud800"`), which the json module accepts and our
    files may hold (model output is arbitrary text): such a file is parsed by the json module.
    """
    content = path.read_bytes()
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return json.loads(content)


def _optional(path: Path) -> Optional[Any]:
    return read_json(path) if path.exists() else None


def is_complete(run_dir: Path) -> bool:
    """The run's outputs are all written (the manifest is written last)."""
    return (run_dir / MANIFEST_FILE).exists()


def looks_like_run(run_dir: Path) -> bool:
    """The folder holds (or held the start of) a run, rather than being some other folder."""
    return any((run_dir / name).exists() for name in (MANIFEST_FILE, RUN_SPEC_FILE, STATUS_FILE))


def read_run_spec(run_dir: Path) -> Optional[dict[str, Any]]:
    """run_spec.json: the resolved spec of the run (secrets redacted), or None before it is written."""
    return _optional(run_dir / RUN_SPEC_FILE)


def read_manifest(run_dir: Path) -> Optional[dict[str, Any]]:
    """manifest.json: code and library versions, time stamps, counts; None while the run is incomplete."""
    return _optional(run_dir / MANIFEST_FILE)


def read_stats(run_dir: Path) -> list[dict[str, Any]]:
    """stats.json: one entry per (metric name, split) with count, mean, spread and 95% interval."""
    return _optional(run_dir / STATS_FILE) or []


def read_execution_stats(run_dir: Path) -> list[dict[str, Any]]:
    """execution_stats.json: stats that describe this execution (cache hits, failures), not the model."""
    return _optional(run_dir / EXECUTION_STATS_FILE) or []


def read_metric_info(run_dir: Path) -> dict[str, dict[str, Any]]:
    """metric_info.json: stat name -> what it is (group, display name, description, lower_is_better).

    Empty for runs written before the file existed; a reader then treats every stat as ungrouped.
    The file is the metrics' own (crfm_eval/runner/metric_info.py), read by its reader.
    """
    return _read_metric_info(run_dir)


def read_status(run_dir: Path) -> Optional[dict[str, Any]]:
    """status.json: when the last job of this folder started and ended, and its one-line error if it failed."""
    return _read_status(run_dir)


def iter_request_states(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every request state of the run, in the order the run wrote them (instance, request, result...)."""
    path = run_dir / SCENARIO_STATE_FILE
    if not path.exists():
        return
    # One JSON document today: parsed whole, then handed out one state at a time (and dropped
    # from the list as it goes, so the caller's processed copy and this one do not add up).
    states = read_json(path).get("request_states", [])
    states.reverse()
    while states:
        yield states.pop()


def iter_per_instance_stats(run_dir: Path) -> Iterator[dict[str, Any]]:
    """Every per-instance entry: instance_id, split, train_trial_index and its metric values."""
    path = run_dir / PER_INSTANCE_STATS_FILE
    if not path.exists():
        return
    entries = read_json(path)
    entries.reverse()
    while entries:
        yield entries.pop()


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
