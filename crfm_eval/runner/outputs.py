"""The files of a run folder, and how the runner writes them while the run goes on.

- `run_spec.json`: the resolved RunSpec (secrets redacted), written first.
- `scenario_state.jsonl`: one request state (instance, request, result) per line.
- `per_instance_stats.jsonl`: one line per request state: its instance, train trial and metric values.
- `stats.json`, `execution_stats.json`: the aggregated Stats.
- `manifest.json`: written last; its presence marks a complete run.

The two JSONL files grow as results arrive, in the order the adapter made the requests (the
executor hands results over in that order), so they hold a killed run's finished work and are
byte-identical for the same config and cache. Lines reach the OS whole (a few at a time, see
`JsonlAppender`); a line cut short by `kill -9` can only be the last one, and the readers
(`readers.py`) skip it. A run that starts again rewrites both files from the start (its results come from the cache).
JSONL because pandas reads it as is (`pd.read_json(path, lines=True)`), and a line at a time keeps
memory flat; orjson because it serializes a request state ~20x faster than `asdict` + `json`.
"""

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import orjson

from crfm_eval.json_io import to_jsonable, write_json
from crfm_eval.redaction import REDACTED
from crfm_eval.specs import RunSpec
from crfm_eval.states import Stat

RUN_SPEC_FILE = "run_spec.json"
SCENARIO_STATE_FILE = "scenario_state.jsonl"
PER_INSTANCE_STATS_FILE = "per_instance_stats.jsonl"
STATS_FILE = "stats.json"
EXECUTION_STATS_FILE = "execution_stats.json"
MANIFEST_FILE = "manifest.json"

LEGACY_SCENARIO_STATE_FILE = "scenario_state.json"
LEGACY_PER_INSTANCE_STATS_FILE = "per_instance_stats.json"
"""Earlier versions wrote whole JSON documents; the readers still read such folders."""


def without_secrets(run_spec: RunSpec) -> RunSpec:
    """The spec as it may be written to disk: the proxy key replaced by a placeholder."""
    if run_spec.execution.api_key is None:
        return run_spec
    return dataclasses.replace(run_spec, execution=dataclasses.replace(run_spec.execution, api_key=REDACTED))


def run_dir_of(run_spec: RunSpec) -> Path:
    return Path(run_spec.output_dir) / "runs" / run_spec.suite / run_spec.run_name


def json_line(item: Any) -> bytes:
    """One JSONL line of a dataclass (or plain data): deterministic bytes, UTF-8, no indentation."""
    return orjson.dumps(item) + b"\n"


class JsonlAppender:
    """Appends whole lines to a file that it starts empty.

    Lines are gathered and written together, at least every FLUSH_SECONDS and FLUSH_BYTES, always
    ending at the end of a line: a write per line cost more than serializing the line (measured
    ~70 us per 4 KB write on this machine's disk). A killed run thus loses at most the last half
    second of lines from the folder; their results are in the cache.
    """

    FLUSH_SECONDS = 0.5
    FLUSH_BYTES = 1 << 18

    def __init__(self, path: Path) -> None:
        self.path = path
        self._descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        self._lines: list[bytes] = []
        self._size = 0
        self._flushed_at = time.monotonic()

    def append(self, line: bytes) -> None:
        self._lines.append(line)
        self._size += len(line)
        if self._size >= self.FLUSH_BYTES or time.monotonic() - self._flushed_at >= self.FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        data = memoryview(b"".join(self._lines))
        self._lines, self._size, self._flushed_at = [], 0, time.monotonic()
        while data:  # one write, unless the OS takes less (a signal, a full disk): then finish it
            data = data[os.write(self._descriptor, data) :]

    def close(self) -> None:
        self.flush()
        os.close(self._descriptor)


def start_run_folder(run_dir: Path, run_spec: RunSpec) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / RUN_SPEC_FILE, to_jsonable(without_secrets(run_spec)))
    # A folder written by an earlier version keeps no stale copy beside the new files.
    for name in (LEGACY_SCENARIO_STATE_FILE, LEGACY_PER_INSTANCE_STATS_FILE):
        (run_dir / name).unlink(missing_ok=True)


def write_stats(run_dir: Path, stats: list[Stat], execution_stats: list[Stat]) -> None:
    write_json(run_dir / STATS_FILE, to_jsonable(stats))
    write_json(run_dir / EXECUTION_STATS_FILE, to_jsonable(execution_stats))


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Written last: its presence marks a run whose outputs are complete."""
    write_json(run_dir / MANIFEST_FILE, manifest)
