"""`metric_info.json` in a run folder: what each stat of the run means, written by the metrics that
computed it (group, display name, description, whether lower is better).

The leaderboard groups and labels stats by it (so a new metric needs no code in the site); read it
with `read_metric_info`, never by opening the file.
"""

import dataclasses
from pathlib import Path
from typing import Any

from crfm_eval.json_io import read_json, write_json
from crfm_eval.metrics.metric import MetricInfo

METRIC_INFO_FILE = "metric_info.json"


def write_metric_info(run_dir: Path, described: dict[str, MetricInfo], stat_names: set[str]) -> None:
    """The descriptions of the stats the run wrote, by name (sorted, so the file is deterministic)."""
    entries = {name: dataclasses.asdict(described[name]) for name in sorted(stat_names) if name in described}
    write_json(run_dir / METRIC_INFO_FILE, entries)


def read_metric_info(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Stat name -> {name, group, display_name, description, lower_is_better}; empty for runs made
    before the file existed."""
    path = run_dir / METRIC_INFO_FILE
    return read_json(path) if path.exists() else {}
