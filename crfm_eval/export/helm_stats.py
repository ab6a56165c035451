"""Stats in HELM's shape and with HELM's arithmetic (helm/benchmark/metrics/statistic.py, metric.py).

A HELM Stat is `{name: {name, split, sub_split?}, count, sum, sum_squared, min, max, mean, variance, stddev}`
with the *population* variance (HELM's `sum_squared / count - mean**2`, clamped at 0); a Stat with
no value keeps only `name, count, sum, sum_squared` (HELM drops the null fields).

HELM's stats.json is not over instances: per train trial it averages the instances' values, and the
Stat is over trials (`count` = number of trials, each value one trial's mean). Per-instance stats
are Stats of one value. `helm_stat` adds its values in order, one at a time, as `Stat.add` does.
As HELM does, an instance's stats name its sub-split (an MMLU subject), and stats.json has each
metric over the whole split and over each sub-split.
"""

import math
from collections import defaultdict
from typing import Any, Optional

from crfm_eval.states import PerInstanceStats, Stat


def helm_metric_name(name: str, split: str, sub_split: Optional[str] = None) -> dict[str, Any]:
    """HELM's MetricName (a null sub-split left out, as HELM writes it)."""
    return {"name": name, "split": split, **({"sub_split": sub_split} if sub_split is not None else {})}


def helm_stat(name: str, split: str, values: list[float], sub_split: Optional[str] = None) -> dict[str, Any]:
    """The HELM Stat of `values` added one at a time."""
    stat: dict[str, Any] = {"name": helm_metric_name(name, split, sub_split), "count": len(values)}
    if not values:
        return {**stat, "sum": 0, "sum_squared": 0}
    total, total_squares = 0.0, 0.0
    for value in values:
        total += value
        total_squares += value * value
    mean = total / len(values)
    variance = max(0.0, total_squares / len(values) - mean**2)
    return {
        **stat,
        "sum": total,
        "sum_squared": total_squares,
        "min": float(min(values)),
        "max": float(max(values)),
        "mean": mean,
        "variance": variance,
        "stddev": math.sqrt(variance),
    }


def helm_per_instance_stats(entry: PerInstanceStats) -> dict[str, Any]:
    """HELM's PerInstanceStats (no perturbation: the key is left out, as HELM does for None)."""
    stats = [helm_stat(name, entry.split, [float(value)], entry.sub_split) for name, value in entry.values.items()]
    return {"instance_id": entry.instance_id, "train_trial_index": entry.train_trial_index, "stats": stats}


class HelmStatsBuilder:
    """Collects per-instance values one entry at a time; `stats()` gives HELM's stats.json."""

    def __init__(self) -> None:
        # (split, sub_split, name) -> trial -> the instances' values, in the order they came; a
        # sub-split of None is the whole split.
        self._values: dict[tuple[str, Optional[str], str], dict[int, list[float]]] = defaultdict(
            lambda: defaultdict(list)
        )
        self._instances: dict[tuple[str, Optional[str]], dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(self, entry: PerInstanceStats) -> None:
        parts = [None] if entry.sub_split is None else [None, entry.sub_split]
        for part in parts:
            self._instances[(entry.split, part)][entry.train_trial_index].add(entry.instance_id)
            for name, value in entry.values.items():
                self._values[(entry.split, part, name)][entry.train_trial_index].append(float(value))

    def stats(self, whole_split_stats: Optional[list[Stat]] = None) -> list[dict[str, Any]]:
        """HELM's stats: each metric over trial means, then `num_instances` per split, then the
        stats of `whole_split_stats` that are not means of per-instance values (e.g. perplexity),
        each as one value."""
        result = []
        for (split, sub_split, name), by_trial in self._values.items():
            trial_means = [math.fsum(values) / len(values) for _, values in sorted(by_trial.items())]
            result.append(helm_stat(name, split, trial_means, sub_split))
        for (split, sub_split), ids_by_trial in self._instances.items():
            counts = [float(len(ids)) for _, ids in sorted(ids_by_trial.items())]
            result.append(helm_stat("num_instances", split, counts, sub_split))
        for stat in whole_split_stats or []:
            if (stat.split, stat.sub_split, stat.name) not in self._values and stat.mean is not None:
                result.append(helm_stat(stat.name, stat.split, [stat.mean], stat.sub_split))
        return result
