"""The leaderboard's numbers, before any HTML: one table per scenario, one row per run.

Rows are labelled by entry (identity.py): a model plus the settings that differ within some
scenario's table (not those each scenario brings, like its default adaptation). The same entry on
several scenarios is one competitor for the win rate. Cells are the stats.json
entries themselves, so the site shows exactly the numbers the runs wrote. Every stat a scenario's
runs have is kept, grouped by metric group (metric_groups.py); the *main metrics* (a setting of
the plugin) are the leaderboard's columns and get the pairwise significance tests.
"""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Optional

from crfm_eval.leaderboard.identity import make_labels
from crfm_eval.leaderboard.metric_groups import MetricInfo, catalog, grouped, info
from crfm_eval.leaderboard.runs import AGGREGATE_PARTS, SPLIT_PREFERENCE, Run
from crfm_eval.leaderboard.significance import NO_CORRECTION, PairedTest, pairwise_tests
from crfm_eval.leaderboard.win_rate import scenario_win_rates, win_rates

DEFAULT_MAIN_METRICS = ("exact_match", "quasi_exact_match")
"""The metrics of the leaderboard's columns, in order; the first a scenario has ranks its table."""


@dataclass
class Row:
    """One run in a scenario's table."""

    run: Run
    entry: str
    """The competitor's label, shared across scenarios."""
    label: str
    """The row's label: the entry's, plus what tells it apart from another row of the same entry."""
    cells: dict[str, Optional[dict[str, Any]]]
    """Stat name -> its stats.json entry on the table's split (None when the run lacks it)."""
    win_rate: Optional[float] = None
    """Win rate across scenarios (the same for the entry in every table)."""
    scenario_win_rate: Optional[float] = None
    part_cells: dict[str, Optional[dict[str, Any]]] = field(default_factory=dict)
    """Part of the split (a sub-split, `macro_average`, `consistency`) -> its primary-metric stat."""

    def mean(self, metric: str) -> Optional[float]:
        cell = self.cells.get(metric)
        return None if cell is None else cell.get("mean")


@dataclass
class Group:
    """A scenario's table: rows sorted by the primary metric, its stats grouped, the pairwise tests."""

    scenario: str
    split: Optional[str]
    main_metrics: list[str]
    """The leaderboard's columns that this scenario's runs have (at least its primary metric)."""
    metric_groups: list[tuple[str, list[str]]]
    """Every stat the runs have on the split, by metric group, in display order."""
    rows: list[Row]
    tests: dict[str, dict[tuple[str, str], Optional[PairedTest]]] = field(default_factory=dict)
    """Main metric -> (row A, row B) -> paired test of A against B (both orders are stored)."""
    adaptations: list[str] = field(default_factory=list)
    """The adaptations of the table's runs (one, typically: the scenario's own), named in its heading
    because entry labels name an adaptation only where a table has several."""
    parts: list[str] = field(default_factory=list)
    """The parts of the split the runs report on the primary metric (aggregates over parts first, e.g.
    MMLU's `macro_average`, then each part by name)."""

    @property
    def primary(self) -> Optional[str]:
        return self.main_metrics[0] if self.main_metrics else None

    def test(self, metric: str, a: str, b: str) -> Optional[PairedTest]:
        return self.tests.get(metric, {}).get((a, b))

    def indistinguishable(self, metric: str, label: str) -> list[tuple[str, PairedTest]]:
        """The other rows whose difference from row `label` on `metric` is not significant."""
        found = []
        for row in self.rows:
            test = self.test(metric, label, row.label)
            if row.label != label and test is not None and not test.significant:
                found.append((row.label, test))
        return found


@dataclass
class Leaderboard:
    main_metrics: list[str]
    """The configured main metrics, in order."""
    groups: list[Group]
    win_rates: dict[str, Optional[float]]
    """Row label -> mean over scenarios of its win rate on each scenario's primary metric."""
    metrics: dict[str, MetricInfo]
    """What each stat is (group, direction), from the runs' metric metadata."""
    correction: str = NO_CORRECTION
    """Multiple-comparison correction of the significance tests (`holm` or `none`)."""

    @property
    def primary(self) -> str:
        """The first main metric any scenario ranks by (for page texts)."""
        return next((group.primary for group in self.groups if group.primary), self.main_metrics[0])

    def info(self, metric: str) -> MetricInfo:
        return info(self.metrics, metric)


def _group_split(runs: list[Run], metrics: list[str]) -> Optional[str]:
    """The most preferred split every run has a main metric on; failing that, the split most runs report."""
    for split in SPLIT_PREFERENCE:
        if runs and all(any(run.stat(metric, split) for metric in metrics) for run in runs):
            return split
    splits: list[str] = [found for run in runs for metric in metrics if (found := run.main_split(metric))]
    if not splits:
        splits = [split for run in runs for split in run.splits()]
    return Counter(splits).most_common(1)[0][0] if splits else None


def _parts(runs: list[Run], metric: Optional[str], split: Optional[str]) -> list[str]:
    """Every part of `split` any run reports `metric` on: aggregates (e.g. `macro_average`) first."""
    if split is None or metric is None:
        return []
    parts = {part for run in runs for part in run.sub_splits(metric, split)}
    return sorted(parts, key=lambda part: (part not in AGGREGATE_PARTS, part))


def _sort_key(row: Row, metric: Optional[str], lower_is_better: bool) -> tuple[float, str]:
    mean = row.mean(metric) if metric else None
    if mean is None:
        return (float("inf"), row.label)
    return (mean if lower_is_better else -mean, row.label)


def build_leaderboard(
    runs: list[Run],
    main_metrics: tuple[str, ...] | list[str] = DEFAULT_MAIN_METRICS,
    correction: str = NO_CORRECTION,
) -> Leaderboard:
    """Group `runs` by scenario, fill each table, run the pairwise tests and the win rates."""
    main_metrics = list(main_metrics) or list(DEFAULT_MAIN_METRICS)
    known = catalog(run.metric_info for run in runs)
    labels = make_labels([(run.key, run.scenario, run.run_spec) for run in runs])
    by_scenario: dict[str, list[Run]] = {}
    for run in runs:
        by_scenario.setdefault(run.scenario, []).append(run)
    groups = []
    for scenario in sorted(by_scenario):
        scenario_runs = by_scenario[scenario]
        names = {name for run in scenario_runs for name in run.stat_names()}
        split = _group_split(scenario_runs, [metric for metric in main_metrics if metric in names] or sorted(names))
        present = sorted({name for run in scenario_runs for name in (run.stat_names(split) if split else [])})
        metric_groups = grouped(present, known)
        columns = [metric for metric in main_metrics if metric in present]
        if not columns and metric_groups:
            columns = [metric_groups[0][1][0]]
        rows = [
            Row(run, labels.entry_of[run.key], labels.row_of[run.key], {m: run.stat(m, split or "") for m in present})
            for run in scenario_runs
        ]
        primary = columns[0] if columns else None
        lower = bool(primary and info(known, primary).lower_is_better)
        rows.sort(key=lambda row: _sort_key(row, primary, lower))
        group = Group(
            scenario,
            split,
            columns,
            metric_groups,
            rows,
            adaptations=sorted({run.adaptation for run in scenario_runs}),
            parts=_parts(scenario_runs, primary, split),
        )
        for row in rows:
            if split and primary:
                row.part_cells = {part: row.run.stat(primary, split, part) for part in group.parts}
        if split is not None:
            for metric in columns:
                values = {row.label: row.run.instance_values(metric, split) for row in rows}
                group.tests[metric] = pairwise_tests(values, correction)
        groups.append(group)
    table = {}
    for group in groups:
        sign = -1.0 if group.primary and info(known, group.primary).lower_is_better else 1.0
        table[group.scenario] = {
            row.label: (None if (mean := row.mean(group.primary or "")) is None else sign * mean) for row in group.rows
        }
    overall = win_rates(table)
    for group in groups:
        per_scenario = scenario_win_rates(table[group.scenario])
        for row in group.rows:
            row.win_rate = overall.get(row.label)
            row.scenario_win_rate = per_scenario.get(row.label)
    return Leaderboard(main_metrics, groups, overall, known, correction)
