"""Reading run folders: the files the runner wrote, as plain dicts (the site depends on the file
names and formats, not on the runner's classes).

A run counts as complete when its `manifest.json` exists, because the runner writes the manifest
last. Incomplete folders (a run killed half way, or still going) are reported, never shown as
results. The request states can be tens of megabytes, so they are read only when a page needs them.
Files are read through `crfm_eval.runner.readers`, which knows their names and formats.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from crfm_eval.runner.outputs import MANIFEST_FILE
from crfm_eval.runner.readers import (
    is_complete,
    iter_per_instance_stats,
    iter_request_states,
    read_execution_stats,
    read_manifest,
    read_run_spec,
    read_stats,
)

SPLIT_PREFERENCE = ("test", "valid")
"""Which eval split the leaderboard reports, best first: test when a run has it, else valid."""


@dataclass
class Run:
    """One complete run folder, with its small files loaded."""

    path: Path
    suite: str
    run_name: str
    run_spec: dict[str, Any]
    stats: list[dict[str, Any]]
    execution_stats: list[dict[str, Any]]
    manifest: dict[str, Any]
    finished_at: dt.datetime
    """When the run ended: the manifest's time stamp (it is written last)."""
    _per_instance: Optional[list[dict[str, Any]]] = field(default=None, repr=False)

    @property
    def scenario(self) -> str:
        return str(self.run_spec.get("scenario", {}).get("name", "?"))

    @property
    def model(self) -> str:
        return str(self.run_spec.get("model", {}).get("name", "?"))

    @property
    def adaptation(self) -> str:
        return str(self.run_spec.get("adaptation", {}).get("name", "?"))

    @property
    def num_shots(self) -> Optional[int]:
        value = self.run_spec.get("adaptation", {}).get("max_train_instances")
        return value if isinstance(value, int) else None

    @property
    def key(self) -> str:
        """Identifies the run inside the site: `<suite>/<run_name>`."""
        return f"{self.suite}/{self.run_name}"

    def stat(self, name: str, split: str, sub_split: Optional[str] = None) -> Optional[dict[str, Any]]:
        """The stats.json (or execution_stats.json) entry of `name` on `split` (the whole split, or
        one of its parts: a sub-split, `macro_average`, `consistency`), if any."""
        for entry in (*self.stats, *self.execution_stats):
            if entry.get("name") == name and entry.get("split") == split and entry.get("sub_split") == sub_split:
                return entry
        return None

    def sub_splits(self, name: str, split: str) -> list[str]:
        """The parts of `split` that have a stat `name`, in stats.json's order."""
        return [
            str(entry["sub_split"])
            for entry in self.stats
            if entry.get("name") == name and entry.get("split") == split and entry.get("sub_split") is not None
        ]

    def splits(self) -> list[str]:
        return sorted({str(entry.get("split")) for entry in self.stats})

    def main_split(self, metric: str) -> Optional[str]:
        """The split the leaderboard reports for `metric`: the first of SPLIT_PREFERENCE it has, else any."""
        having = [
            entry["split"]
            for entry in self.stats
            if entry.get("name") == metric and entry.get("count") and entry.get("sub_split") is None
        ]
        for split in SPLIT_PREFERENCE:
            if split in having:
                return split
        return sorted(having)[0] if having else None

    def per_instance(self) -> list[dict[str, Any]]:
        if self._per_instance is None:
            self._per_instance = list(iter_per_instance_stats(self.path))
        return self._per_instance

    def instance_values(self, metric: str, split: str) -> dict[str, float]:
        """Instance id -> value of `metric`, averaged over train trials as stats.json does."""
        by_instance: dict[str, list[float]] = defaultdict(list)
        for entry in self.per_instance():
            value = entry.get("values", {}).get(metric)
            if entry.get("split") == split and value is not None:
                by_instance[str(entry["instance_id"])].append(float(value))
        return {instance_id: sum(values) / len(values) for instance_id, values in by_instance.items()}

    def request_states(self) -> list[dict[str, Any]]:
        """Every request state of the run (read on demand: the file can be large)."""
        return list(iter_request_states(self.path))


@dataclass
class RunsFound:
    """What an output dir holds: the complete runs, and folders that are not (yet) runs."""

    output_dir: Path
    runs: list[Run]
    incomplete: list[Path]
    unreadable: list[tuple[Path, str]]


def _finished_at(run_dir: Path, manifest: dict[str, Any]) -> dt.datetime:
    stamp = manifest.get("finished_at")
    if isinstance(stamp, str):
        try:
            return dt.datetime.fromisoformat(stamp)
        except ValueError:
            pass
    seconds = (run_dir / MANIFEST_FILE).stat().st_mtime
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def load_run(run_dir: Path) -> Run:
    """The run in `run_dir` (which must hold a manifest)."""
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise ValueError(f"{run_dir} holds no complete run")
    return Run(
        path=run_dir,
        suite=run_dir.parent.name,
        run_name=run_dir.name,
        run_spec=read_run_spec(run_dir),
        stats=read_stats(run_dir),
        execution_stats=read_execution_stats(run_dir),
        manifest=manifest,
        finished_at=_finished_at(run_dir, manifest),
    )


def find_runs(output_dir: Path) -> RunsFound:
    """Every run folder under `output_dir/runs/*/*`, sorted by suite and name.

    A missing output dir is not an error: the site then says there are no runs yet. A folder whose
    files cannot be read is listed with the reason rather than failing the whole build.
    """
    found = RunsFound(output_dir, [], [], [])
    runs_dir = output_dir / "runs"
    if not runs_dir.is_dir():
        return found
    for run_dir in sorted(path for path in runs_dir.glob("*/*") if path.is_dir()):
        if not is_complete(run_dir):
            found.incomplete.append(run_dir)
            continue
        try:
            found.runs.append(load_run(run_dir))
        except (OSError, ValueError, KeyError, TypeError) as error:
            found.unreadable.append((run_dir, f"{type(error).__name__}: {error}"))
    return found
