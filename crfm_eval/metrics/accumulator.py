"""Stats from per-instance values that arrive one at a time (the streaming twin of `metric.compute_stats`).

As in `compute_stats`, the values of one eval instance are first averaged over its train trials,
then each (split, name) is summarized over instances by `statistics.summarize`, so both give the
same Stats. Streaming needs one promise from the caller: the entries of one instance come one
after the other (the adapter makes each instance's trials together). Then an instance's trials
are averaged as soon as the next instance starts, and each mean goes into the running sums of its
(split, name) (`running_sums.RunningStat`: the count, sums, min and max `summarize` would compute
from the list, bit for bit), and into its train trial's running sum: memory does not grow with
the number of instances.

Derived stats (`Metric.derive`: calibration error, perplexity) are not means: they need every
per-instance entry of a split. Only for metrics that derive any are those entries read back, one
split at a time, from the per-instance file the run wrote (`derived_stats`).
"""

import dataclasses
import math
from collections.abc import Iterable
from typing import Callable, Optional

from crfm_eval.metrics.metric import Metric
from crfm_eval.metrics.running_sums import RunningStat, RunningSum
from crfm_eval.metrics.statistics import spread_from_sums, stat_from_sums
from crfm_eval.states import PerInstanceStats, RequestState, Stat


class MetricSets:
    """The metric sets of a run, used together: one dict of values per (instance, trial)."""

    def __init__(self, metrics: list[Metric]) -> None:
        self.metrics = metrics
        self.execution_dependent = frozenset().union(*(metric.execution_dependent for metric in metrics))
        self.derive = [metric for metric in metrics if type(metric).derive is not Metric.derive]
        """The metrics with stats that are not means (they need a split's entries read back)."""
        self.prepare = [metric for metric in metrics if type(metric).prepare is not Metric.prepare]
        """The metrics that see the states of a batch of instances before scoring them (`Metric.prepare`)."""

    def is_proportion(self, name: str) -> bool:
        return any(metric.is_proportion(name) for metric in self.metrics)

    def evaluate(self, states: list[RequestState]) -> tuple[dict[str, float], dict[str, float]]:
        """(values that describe the model, values that describe this execution) of one instance's
        states in one train trial."""
        values: dict[str, float] = {}
        for metric in self.metrics:
            values.update(metric.evaluate_instance(states))
        deterministic = {name: value for name, value in values.items() if name not in self.execution_dependent}
        execution = {name: value for name, value in values.items() if name in self.execution_dependent}
        return deterministic, execution


class StatsAccumulator:
    """Feed it PerInstanceStats in request order; `stats()` summarizes everything fed so far."""

    def __init__(self, is_proportion: Callable[[str], bool]) -> None:
        self.is_proportion = is_proportion
        self._instance: Optional[tuple[str, str]] = None
        """(split, instance id) of the instance whose trials are being collected."""
        self._trials: dict[str, list[float]] = {}
        self._instance_means: dict[tuple[str, str], RunningStat] = {}
        """(split, name) -> the running sums of its instance means."""
        self._trial_values: dict[tuple[str, str], dict[int, RunningSum]] = {}
        """(split, name) -> train trial -> the running sum of that trial's values (for the spread across trials)."""
        self.num_instances = 0
        self.splits: set[str] = set()

    def add(self, entry: PerInstanceStats) -> None:
        instance = (entry.split, entry.instance_id)
        if instance != self._instance:
            self._close_instance()
            self._instance = instance
            self.num_instances += 1
            self.splits.add(entry.split)
        for name, value in entry.values.items():
            self._trials.setdefault(name, []).append(value)
            by_trial = self._trial_values.setdefault((entry.split, name), {})
            trial = by_trial.get(entry.train_trial_index)
            if trial is None:
                trial = by_trial[entry.train_trial_index] = RunningSum()
            trial.add(value)

    def _close_instance(self) -> None:
        if self._instance is None:
            return
        split = self._instance[0]
        for name, values in self._trials.items():
            running = self._instance_means.get((split, name))
            if running is None:
                running = self._instance_means[(split, name)] = RunningStat()
            running.add(sum(values) / len(values))
        self._trials = {}

    def stats(self) -> list[Stat]:
        self._close_instance()
        self._instance = None
        stats = []
        for (split, name), running in sorted(self._instance_means.items()):
            stat = stat_from_sums(name, split, *running.sums(), proportion=self.is_proportion(name))
            filled = [trial for _, trial in sorted(self._trial_values.get((split, name), {}).items()) if trial.count]
            spread = spread_from_sums([trial.total() for trial in filled], [trial.count for trial in filled])
            stats.append(stat if spread is None else dataclasses.replace(stat, trials=spread))
        return stats


def derived_stats(
    metrics: list[Metric], splits: Iterable[str], values_of: Callable[[str], Iterable[dict[str, float]]]
) -> list[Stat]:
    """The stats `metrics` derive per split from the values of the split's entries (`values_of(split)`,
    read once per split), the finite ones, as `compute_stats` keeps them."""
    stats = []
    reads_values = any(metric.derive_reads_values for metric in metrics)
    for split in sorted(splits):
        # Read back only for a metric that uses them: a whole split's entries are ~1 KB each.
        values = list(values_of(split)) if reads_values else []
        for metric in metrics:
            stats += [stat for stat in metric.derive(split, values) if math.isfinite(stat.mean or 0.0)]
    return stats
