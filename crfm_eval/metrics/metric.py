"""The Metric controller and the aggregation of its per-instance values into Stats.

A metric gives each request state a dict of values. Values of one eval instance are averaged over
its train trials first, then summarized over the instances of each split, so that `count` is the
number of instances and a confidence interval is over instances. Values that depend on this
particular execution (was it cached? did it fail?) are kept apart from the deterministic ones so
that the same config and cache always give byte-identical stats.json.
"""

from abc import ABC, abstractmethod
from collections import defaultdict

from crfm_eval.metrics.statistics import summarize
from crfm_eval.states import PerInstanceStats, RequestState, ScenarioState, Stat


class Metric(ABC):
    execution_dependent: frozenset[str] = frozenset()
    """Names of values that describe this execution rather than the model (kept out of stats.json)."""

    proportions: frozenset[str] = frozenset()
    """Names of values that are 0 or 1 by definition (their interval is Wilson's)."""

    @abstractmethod
    def evaluate(self, state: RequestState) -> dict[str, float]:
        """The values of one executed request state."""


def _aggregate(per_instance: list[PerInstanceStats], proportions: frozenset[str]) -> list[Stat]:
    # (split, name) -> instance id -> values over trials; insertion order keeps the output stable.
    grouped: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for entry in per_instance:
        for name, value in entry.values.items():
            grouped[(entry.split, name)][entry.instance_id].append(value)
    stats = []
    for (split, name), by_instance in sorted(grouped.items()):
        instance_means = [sum(values) / len(values) for values in by_instance.values()]
        stats.append(summarize(name, split, instance_means, proportion=name in proportions))
    return stats


def compute_stats(
    metric: Metric, scenario_state: ScenarioState
) -> tuple[list[PerInstanceStats], list[Stat], list[Stat]]:
    """(per-instance values, stats, execution stats) of an executed scenario state."""
    deterministic: list[PerInstanceStats] = []
    execution: list[PerInstanceStats] = []
    for state in scenario_state.request_states:
        values = metric.evaluate(state)
        for target, keep in ((deterministic, False), (execution, True)):
            selected = {k: v for k, v in values.items() if (k in metric.execution_dependent) == keep}
            target.append(PerInstanceStats(state.instance.id, state.instance.split, state.train_trial_index, selected))
    return deterministic, _aggregate(deterministic, metric.proportions), _aggregate(execution, metric.proportions)
