"""Stats from per-instance values that arrive one at a time (the streaming twin of `metric._aggregate`).

As in `_aggregate`, the values of one eval instance are first averaged over its train trials, then
each (split, name) is summarized over instances by `statistics.summarize`, so both give the same
Stats. Streaming needs one promise from the caller: the entries of one instance come one after
the other (the adapter asks each instance's trials together). Then an instance's trials are
averaged as soon as the next instance starts, and only one float per instance and value name is
kept (8 bytes in an `array`): `summarize` needs every instance mean for an exact sum and
standard deviation (a list of one stat's means exists only while that stat is summarized).
"""

from array import array
from typing import Optional

from crfm_eval.metrics.metric import Metric
from crfm_eval.metrics.statistics import summarize
from crfm_eval.states import PerInstanceStats, Stat


def split_values(metric: Metric, values: dict[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """(values that describe the model, values that describe this execution) of one request state."""
    deterministic = {name: value for name, value in values.items() if name not in metric.execution_dependent}
    execution = {name: value for name, value in values.items() if name in metric.execution_dependent}
    return deterministic, execution


class StatsAccumulator:
    """Feed it PerInstanceStats in request order; `stats()` summarizes everything fed so far."""

    def __init__(self, proportions: frozenset[str]) -> None:
        self.proportions = proportions
        self._instance: Optional[tuple[str, str]] = None
        """(split, instance id) of the instance whose trials are being collected."""
        self._trials: dict[str, list[float]] = {}
        self._instance_means: dict[tuple[str, str], array] = {}
        self.num_instances = 0

    def add(self, entry: PerInstanceStats) -> None:
        instance = (entry.split, entry.instance_id)
        if instance != self._instance:
            self._close_instance()
            self._instance = instance
            self.num_instances += 1
        for name, value in entry.values.items():
            self._trials.setdefault(name, []).append(value)

    def _close_instance(self) -> None:
        if self._instance is None:
            return
        split = self._instance[0]
        for name, values in self._trials.items():
            self._instance_means.setdefault((split, name), array("d")).append(sum(values) / len(values))
        self._trials = {}

    def stats(self) -> list[Stat]:
        self._close_instance()
        self._instance = None
        return [
            summarize(name, split, list(means), proportion=name in self.proportions)
            for (split, name), means in sorted(self._instance_means.items())
        ]
