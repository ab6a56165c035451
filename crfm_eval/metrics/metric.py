"""The Metric controller and the aggregation of its per-instance values into Stats.

A metric scores one eval instance at a time: it gets the request states of that instance in one
train trial (one for generation and joint multiple choice, one per reference for the separate
methods (two with calibration), one per window for language modeling) and returns a dict of
values. Values of one eval instance are averaged over its train trials first, then summarized
over the instances of each split, so that `count` is the number of instances and a confidence
interval is over instances. A statistic that is not a mean of per-instance values (calibration
error, perplexity) is derived per split from the per-instance values alone, never from the request
states, so that a run can stream its states to disk and still compute every stat.

Values that depend on this particular execution (was it cached? did it fail?) are kept apart from
the deterministic ones so that the same config and cache always give byte-identical stats.json.
Each metric describes its stats (`info`): the group the leaderboard files it under, a display name,
a description and which direction is better.
"""

import dataclasses
import math
from abc import ABC, abstractmethod
from collections import defaultdict
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional

from crfm_eval.metrics.breakdowns import breakdown_stats
from crfm_eval.metrics.statistics import summarize, trial_spread
from crfm_eval.states import PerInstanceStats, RequestState, ScenarioState, Stat

ACCURACY, CALIBRATION, LANGUAGE_MODELING, EFFICIENCY, GENERAL = (
    "accuracy",
    "calibration",
    "language_modeling",
    "efficiency",
    "general",
)
"""The metric groups the leaderboard knows; a metric may name another."""


@dataclass(frozen=True)
class MetricInfo:
    """What a stat means, next to the metric that computes it."""

    name: str
    group: str
    display_name: str
    description: str
    lower_is_better: Optional[bool] = None
    """True or False when the leaderboard may rank by it; None for counts and settings."""


class Metric(ABC):
    execution_dependent: frozenset[str] = frozenset()
    """Names of values that describe this execution rather than the model (kept out of stats.json)."""

    proportions: frozenset[str] = frozenset()
    """Names of values that are 0 or 1 by definition (their interval is Wilson's)."""

    loads_scipy: bool = False
    """Whether this metric's scoring loads scipy in the helper process (the offline toxicity model:
    scikit-learn imports it); the run then does not load scipy there beforehand for its intervals."""

    def is_proportion(self, name: str) -> bool:
        return name in self.proportions

    def prepare(self, states: list[RequestState]) -> Optional["Future[Any]"]:
        """Called with the executed request states of one or more whole instances (every train trial)
        before `evaluate_instance` of any of them: a metric that asks an outside scorer (toxicity)
        scores their texts in one batch here. `compute_stats` passes the whole run; the streaming
        recorder a window of instances at a time (runner/recorder.py), so keep nothing from one call
        to the next that grows with the run. The recorder goes on recording while the scorer works
        (in another process, say) when this returns a Future that is done once these instances can
        be evaluated without waiting; it evaluates them, in the order prepared, once it is done (or
        once too many instances wait). None: they can be evaluated at once."""
        return None

    def close(self) -> None:  # noqa: B027 - optional: most metrics hold nothing to release
        """Release what the metric holds (a scorer's process or connections); called once the run is over."""

    @abstractmethod
    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        """The values of one eval instance in one train trial, from all its executed request states."""

    derive_reads_values: bool = True
    """Whether `derive` reads its `per_instance` argument (the recorder then reads the split's entries
    back from the run folder, all at once); False for a metric that counts what it needs as it goes."""

    def derive(self, split: str, per_instance: list[dict[str, float]]) -> list[Stat]:
        """Stats of `split` that are not means of per-instance values; `per_instance` holds every
        metric's values of each (instance, train trial) of the split."""
        return []

    def info(self) -> list[MetricInfo]:
        """The stats this metric produces, described (asked after evaluation: a name may depend on
        what was seen, e.g. exact_match@k for k completions)."""
        return []


def derived_stat(name: str, split: str, value: float, count: int) -> Stat:
    """A split-level statistic computed from `count` instances: the value is its mean (and sum / count);
    it has no per-instance spread or interval."""
    return Stat(name, split, count, value * count, value, None, None, None, None, None)


def instance_groups(states: list[RequestState]) -> Iterator[list[RequestState]]:
    """The request states of each (eval instance, train trial), in the order they first appear."""
    groups: dict[tuple[str, int], list[RequestState]] = defaultdict(list)
    for state in states:
        groups[(state.instance.id, state.train_trial_index)].append(state)
    yield from groups.values()


def _aggregate(per_instance: list[PerInstanceStats], is_proportion: Callable[[str], bool]) -> list[Stat]:
    # (split, name) -> instance id -> values over trials; insertion order keeps the output stable.
    grouped: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for entry in per_instance:
        for name, value in entry.values.items():
            grouped[(entry.split, name)][entry.instance_id].append(value)
    by_trial: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for entry in per_instance:
        for name, value in entry.values.items():
            by_trial[(entry.split, name)][entry.train_trial_index].append(value)
    stats = []
    for (split, name), by_instance in sorted(grouped.items()):
        instance_means = [sum(values) / len(values) for values in by_instance.values()]
        stat = summarize(name, split, instance_means, proportion=is_proportion(name))
        spread = trial_spread(by_trial[(split, name)])
        stats.append(stat if spread is None else dataclasses.replace(stat, trials=spread))
    return stats


def compute_stats(
    metrics: list[Metric], scenario_state: ScenarioState
) -> tuple[list[PerInstanceStats], list[Stat], list[Stat]]:
    """(per-instance values, stats, execution stats) of an executed scenario state.

    The stats are the whole-split ones, then those of the split's parts (sub-splits, their macro
    average, contrast-set consistency; see breakdowns.py).
    """
    execution_dependent = frozenset().union(*(metric.execution_dependent for metric in metrics))

    def is_proportion(name: str) -> bool:
        return any(metric.is_proportion(name) for metric in metrics)

    for metric in metrics:
        metric.prepare(scenario_state.request_states)
    deterministic: list[PerInstanceStats] = []
    execution: list[PerInstanceStats] = []
    for states in instance_groups(scenario_state.request_states):
        values: dict[str, float] = {}
        for metric in metrics:
            values.update(metric.evaluate_instance(states))
        instance, trial = states[0].instance, states[0].train_trial_index
        for target, keep in ((deterministic, False), (execution, True)):
            selected = {k: v for k, v in values.items() if (k in execution_dependent) == keep}
            target.append(
                PerInstanceStats(
                    instance.id,
                    instance.split,
                    trial,
                    selected,
                    sub_split=instance.sub_split,
                    contrast_set=instance.contrast_set,
                )
            )
    stats = _aggregate(deterministic, is_proportion)
    for split in sorted({entry.split for entry in deterministic}):
        split_values = [entry.values for entry in deterministic if entry.split == split]
        for metric in metrics:
            stats += [stat for stat in metric.derive(split, split_values) if math.isfinite(stat.mean or 0.0)]
    stats.sort(key=lambda stat: (stat.split, stat.name))
    stats += breakdown_stats(deterministic, is_proportion)
    return deterministic, stats, _aggregate(execution, is_proportion)


def metric_info(metrics: list[Metric]) -> dict[str, MetricInfo]:
    """Stat name -> its description, over all the run's metrics (the first to describe a name wins)."""
    described: dict[str, MetricInfo] = {}
    for metric in metrics:
        for info in metric.info():
            described.setdefault(info.name, info)
    return described
