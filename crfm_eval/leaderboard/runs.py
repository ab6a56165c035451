"""The run folders of an output dir, as the summary pages see them.

A complete run (its manifest is written last) is known by its digest (run_data.py): spec, stats,
manifest, status, metric metadata and per-instance means, small enough for a hundred runs to sit
in memory. A folder that is not complete is listed with what its status.json says: failed (with
the job's one-line error), started and not ended (running, or killed), or nothing at all.
"""

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from crfm_eval.runner import readers
from crfm_eval.states import CONSISTENCY, MACRO_AVERAGE

SPLIT_PREFERENCE = ("test", "valid")
"""Which eval split the leaderboard reports, best first: test when a run has it, else valid."""

AGGREGATE_PARTS = (MACRO_AVERAGE, CONSISTENCY)
"""`sub_split`s of stats over a whole split (its parts' means averaged, its contrast sets), not one part."""

FAILED = "failed"
RUNNING = "running or killed"
UNFINISHED = "unfinished"


@dataclass
class Run:
    """One complete run, from its digest."""

    digest: dict[str, Any]
    _stats: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    _parts: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict, repr=False)
    """Stats of a part of a split (an entry with a `sub_split`, e.g. one MMLU subject), kept apart from
    the whole split's."""

    def __post_init__(self) -> None:
        for entry in (*self.execution_stats, *self.stats):  # stats.json wins over execution_stats.json
            name, split, part = str(entry.get("name")), str(entry.get("split")), entry.get("sub_split")
            if part is None:
                self._stats[(name, split)] = entry
            else:
                self._parts[(name, split, str(part))] = entry

    @property
    def path(self) -> Path:
        return Path(self.digest["path"])

    @property
    def suite(self) -> str:
        return str(self.digest["suite"])

    @property
    def run_name(self) -> str:
        return str(self.digest["run_name"])

    @property
    def key(self) -> str:
        """Identifies the run inside the site: `<suite>/<run_name>`."""
        return f"{self.suite}/{self.run_name}"

    @property
    def run_spec(self) -> dict[str, Any]:
        return self.digest.get("run_spec") or {}

    @property
    def stats(self) -> list[dict[str, Any]]:
        return self.digest.get("stats") or []

    @property
    def execution_stats(self) -> list[dict[str, Any]]:
        return self.digest.get("execution_stats") or []

    @property
    def manifest(self) -> dict[str, Any]:
        return self.digest.get("manifest") or {}

    @property
    def metric_info(self) -> dict[str, dict[str, Any]]:
        """Stat name -> what it is (metric_info.json)."""
        return self.digest.get("metric_info") or {}

    @property
    def failure(self) -> Optional[str]:
        """The one-line error of the job that wrote this run (e.g. some requests failed), if any."""
        status = self.digest.get("status") or {}
        return status.get("error") or None

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
    def finished_at(self) -> dt.datetime:
        """When the run ended: the manifest's time stamp (it is written last), else when its files were."""
        stamp = self.manifest.get("finished_at")
        if isinstance(stamp, str):
            try:
                return dt.datetime.fromisoformat(stamp)
            except ValueError:
                pass
        return dt.datetime.fromtimestamp(float(self.digest.get("written_at") or 0), tz=dt.timezone.utc)

    def stat(self, name: str, split: str, sub_split: Optional[str] = None) -> Optional[dict[str, Any]]:
        """The stats.json (or execution_stats.json) entry of `name` on the whole `split` (or on one part
        of it, `sub_split`), if any."""
        return self._stats.get((name, split)) if sub_split is None else self._parts.get((name, split, sub_split))

    def sub_splits(self, name: str, split: str) -> list[str]:
        """The parts of `split` that have a stat `name`, in the files' order."""
        return [part for (stat_name, stat_split, part) in self._parts if (stat_name, stat_split) == (name, split)]

    def stat_names(self, split: Optional[str] = None) -> list[str]:
        """The names of the run's stats (on `split`, or on any split)."""
        return sorted({name for name, stat_split in self._stats if split is None or stat_split == split})

    def splits(self) -> list[str]:
        return sorted({split for _, split in self._stats})

    def main_split(self, metric: str) -> Optional[str]:
        """The split the leaderboard reports for `metric`: the first of SPLIT_PREFERENCE it has, else any."""
        having = [split for (name, split), entry in self._stats.items() if name == metric and entry.get("count")]
        for split in SPLIT_PREFERENCE:
            if split in having:
                return split
        return sorted(having)[0] if having else None

    def instance_values(self, metric: str, split: str) -> dict[str, float]:
        """Instance id -> value of `metric` on `split`, averaged over train trials as stats.json does."""
        per_split = (self.digest.get("per_instance") or {}).get(split) or {}
        values = (per_split.get("values") or {}).get(metric)
        if values is None:
            return {}
        return {
            instance_id: value for instance_id, value in zip(per_split["ids"], values, strict=True) if value is not None
        }


def load_run(run_dir: Path) -> Run:
    """The complete run in `run_dir`, read in full on its own (the site reads runs through the build
    cache instead; the viewer's data files written on the way are dropped)."""
    from crfm_eval.leaderboard.run_data import process_run  # the site's one reader of a run's large files

    with tempfile.TemporaryDirectory() as scratch:
        return Run(process_run(run_dir, Path(scratch) / "data", Path(scratch) / "instances"))


@dataclass(frozen=True)
class UnfinishedRun:
    """A run folder without a complete run in it, and what its status.json says."""

    path: Path
    state: str
    """FAILED, RUNNING or UNFINISHED."""
    error: Optional[str] = None
    """The one-line error of a failed job."""
    run_spec: Optional[dict[str, Any]] = None

    @property
    def suite(self) -> str:
        return self.path.parent.name

    @property
    def run_name(self) -> str:
        return self.path.name


@dataclass
class RunsFound:
    """What an output dir holds: the complete runs, and the folders that are not (yet) complete runs."""

    output_dir: Path
    runs: list[Run]
    unfinished: list[UnfinishedRun]
    unreadable: list[tuple[Path, str]]


def run_folders(output_dir: Path) -> tuple[list[Path], list[UnfinishedRun]]:
    """The complete run folders under `output_dir/runs/*/*` (sorted), and the others with their state."""
    runs_dir = output_dir / "runs"
    if not runs_dir.is_dir():
        return [], []
    complete, unfinished = [], []
    for run_dir in sorted(path for path in runs_dir.glob("*/*") if path.is_dir()):
        if readers.is_complete(run_dir):
            complete.append(run_dir)
        elif readers.looks_like_run(run_dir):
            unfinished.append(unfinished_run(run_dir))
    return complete, unfinished


def unfinished_run(run_dir: Path) -> UnfinishedRun:
    try:
        run_spec = readers.read_run_spec(run_dir)
    except (OSError, ValueError):
        run_spec = None
    status = readers.read_status(run_dir)
    if status is None:
        return UnfinishedRun(run_dir, UNFINISHED, None, run_spec)
    if status.get("error"):
        return UnfinishedRun(run_dir, FAILED, str(status["error"]), run_spec)
    if status.get("ended_at") is None:
        return UnfinishedRun(run_dir, RUNNING, None, run_spec)
    return UnfinishedRun(run_dir, UNFINISHED, None, run_spec)
