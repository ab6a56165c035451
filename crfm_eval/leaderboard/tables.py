"""The leaderboard's numbers, before any HTML: one group per scenario, one row per run.

An *entry* is what a reader compares: a model under one adaptation (e.g. `simple/deterministic ·
5shot`), with the suite added when the output dir holds several suites. The same entry on several
scenarios is one competitor for the win rate. Cells are the stats.json entries themselves, so the
site shows exactly the numbers the runs wrote.
"""

from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Optional

from crfm_eval.leaderboard.runs import SPLIT_PREFERENCE, Run
from crfm_eval.leaderboard.significance import PairedTest, paired_test
from crfm_eval.leaderboard.win_rate import scenario_win_rates, win_rates
from crfm_eval.states import CONSISTENCY, MACRO_AVERAGE

AGGREGATE_PARTS = (MACRO_AVERAGE, CONSISTENCY)

DEFAULT_MAIN_METRICS = ("exact_match", "quasi_exact_match")
"""The metrics of the leaderboard's columns; the first is the one win rates and plots use."""


@dataclass
class Row:
    """One run on the leaderboard."""

    run: Run
    entry: str
    """The competitor's name (model · adaptation [· suite]), shared across scenarios."""
    cells: dict[str, Optional[dict[str, Any]]]
    """Metric -> its stats.json entry on the group's split (None when the run lacks it)."""
    win_rate: Optional[float] = None
    """Win rate across scenarios (the same for the entry in every group)."""
    scenario_win_rate: Optional[float] = None
    part_cells: dict[str, Optional[dict[str, Any]]] = field(default_factory=dict)
    """Part of the split (a sub-split, `macro_average`, `consistency`) -> its primary-metric stat."""

    def mean(self, metric: str) -> Optional[float]:
        cell = self.cells.get(metric)
        return None if cell is None else cell.get("mean")


@dataclass
class Group:
    """A scenario's table: rows sorted by the primary metric, and every pairwise test."""

    scenario: str
    split: Optional[str]
    metrics: list[str]
    rows: list[Row]
    tests: dict[str, dict[tuple[str, str], Optional[PairedTest]]] = field(default_factory=dict)
    """Metric -> (entry A, entry B) -> paired test of A against B (both orders are stored)."""
    parts: list[str] = field(default_factory=list)
    """The parts of the split the runs report (aggregates over parts first, then each part by name)."""

    def test(self, metric: str, a: str, b: str) -> Optional[PairedTest]:
        return self.tests.get(metric, {}).get((a, b))

    def indistinguishable(self, metric: str, entry: str) -> list[tuple[str, PairedTest]]:
        """The other entries whose difference from `entry` on `metric` is not significant."""
        found = []
        for row in self.rows:
            test = self.test(metric, entry, row.entry)
            if row.entry != entry and test is not None and not test.significant:
                found.append((row.entry, test))
        return found


@dataclass
class Leaderboard:
    metrics: list[str]
    groups: list[Group]
    win_rates: dict[str, Optional[float]]

    @property
    def primary(self) -> str:
        return self.metrics[0]


def entry_names(runs: list[Run]) -> dict[str, str]:
    """Run key -> entry name; the suite is named only when there are several, the run name only on a clash."""
    several_suites = len({run.suite for run in runs}) > 1
    names = {}
    for run in runs:
        name = f"{run.model} · {run.adaptation}"
        names[run.key] = f"{name} · {run.suite}" if several_suites else name
    clashes = Counter((run.scenario, names[run.key]) for run in runs)
    for run in runs:
        if clashes[(run.scenario, names[run.key])] > 1:
            names[run.key] = f"{names[run.key]} ({run.run_name})"
    return names


def _group_split(runs: list[Run], metric: str) -> Optional[str]:
    """The most preferred split every run has; failing that, the split most runs report."""
    splits = [run.main_split(metric) for run in runs]
    for split in SPLIT_PREFERENCE:
        if splits and all(run.stat(metric, split) is not None for run in runs):
            return split
    present = [split for split in splits if split is not None]
    return Counter(present).most_common(1)[0][0] if present else None


def _parts(runs: list[Run], metric: str, split: Optional[str]) -> list[str]:
    """Every part of `split` any run reports `metric` on: aggregates (e.g. `macro_average`) first."""
    if split is None:
        return []
    parts = {part for run in runs for part in run.sub_splits(metric, split)}
    return sorted(parts, key=lambda part: (part not in AGGREGATE_PARTS, part))


def _sort_key(row: Row, metric: str) -> tuple[float, str]:
    mean = row.mean(metric)
    return (-(mean if mean is not None else float("-inf")), row.entry)


def build_leaderboard(runs: list[Run], metrics: tuple[str, ...] | list[str] = DEFAULT_MAIN_METRICS) -> Leaderboard:
    """Group `runs` by scenario, fill each table, run the pairwise tests and the win rates."""
    metrics = list(metrics) or list(DEFAULT_MAIN_METRICS)
    primary = metrics[0]
    names = entry_names(runs)
    by_scenario: dict[str, list[Run]] = {}
    for run in runs:
        by_scenario.setdefault(run.scenario, []).append(run)
    groups = []
    for scenario in sorted(by_scenario):
        scenario_runs = by_scenario[scenario]
        split = _group_split(scenario_runs, primary)
        rows = [
            Row(run, names[run.key], {m: (run.stat(m, split) if split else None) for m in metrics})
            for run in scenario_runs
        ]
        rows.sort(key=lambda row: _sort_key(row, primary))
        group = Group(scenario, split, metrics, rows, parts=_parts(scenario_runs, primary, split))
        for row in rows:
            row.part_cells = {part: row.run.stat(primary, split, part) for part in group.parts} if split else {}
        if split is not None:
            for metric in metrics:
                group.tests[metric] = _pairwise(rows, metric, split)
        groups.append(group)
    table = {group.scenario: {row.entry: row.mean(primary) for row in group.rows} for group in groups}
    overall = win_rates(table)
    for group in groups:
        per_scenario = scenario_win_rates(table[group.scenario])
        for row in group.rows:
            row.win_rate = overall.get(row.entry)
            row.scenario_win_rate = per_scenario.get(row.entry)
    return Leaderboard(metrics, groups, overall)


def _pairwise(rows: list[Row], metric: str, split: str) -> dict[tuple[str, str], Optional[PairedTest]]:
    values = {row.entry: row.run.instance_values(metric, split) for row in rows}
    tests: dict[tuple[str, str], Optional[PairedTest]] = {}
    for a, b in combinations([row.entry for row in rows], 2):
        tests[(a, b)] = paired_test(values[a], values[b])
        tests[(b, a)] = paired_test(values[b], values[a])
    return tests
