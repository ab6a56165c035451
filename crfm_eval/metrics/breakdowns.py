"""Stats over parts of a split, beside the whole-split stats: each sub-split, the macro average over
the sub-splits, and the consistency of contrast sets.

- Sub-split (e.g. an MMLU subject): the metric over the instances of that part only.
- `macro_average`: the mean of the sub-splits' means, each sub-split counting once however many
  instances it has (MMLU's headline number); its count is the number of sub-splits, and its interval
  is Student's t over them. Only instances outside contrast sets take part: a contrast set's
  `original` and `perturbed` questions are two views of the same questions, not parts to average.
- `consistency` (Gardner et al., 2020): each contrast set's worst value over its questions, averaged
  over the sets; for accuracy, the share of sets whose original and every perturbation are right.
  Computed for proportions only (a "worst" token count means nothing).

As in metric.py, an instance's values are first averaged over its train trials.
"""

import dataclasses
from collections import defaultdict
from collections.abc import Iterable
from typing import Callable, Optional

from crfm_eval.metrics.statistics import summarize
from crfm_eval.states import CONSISTENCY, MACRO_AVERAGE, PerInstanceStats, Stat


@dataclasses.dataclass
class _InstanceValues:
    sub_split: Optional[str]
    contrast_set: Optional[str]
    values: dict[str, list[float]] = dataclasses.field(default_factory=lambda: defaultdict(list))

    def mean(self, name: str) -> Optional[float]:
        values = self.values.get(name)
        return sum(values) / len(values) if values else None


def breakdown_stats(per_instance: Iterable[PerInstanceStats], is_proportion: Callable[[str], bool]) -> list[Stat]:
    """Sub-split, macro-average and consistency stats, in a stable order (split, kind, part, name)."""
    by_split: dict[str, dict[str, _InstanceValues]] = defaultdict(dict)
    for entry in per_instance:
        instance = by_split[entry.split].setdefault(
            entry.instance_id, _InstanceValues(entry.sub_split, entry.contrast_set)
        )
        for name, value in entry.values.items():
            instance.values[name].append(value)
    stats: list[Stat] = []
    for split in sorted(by_split):
        instances = list(by_split[split].values())
        stats += _sub_split_stats(split, instances, is_proportion)
        stats += _consistency_stats(split, instances, is_proportion)
    return stats


def _names(instances: list[_InstanceValues]) -> list[str]:
    return sorted({name for instance in instances for name in instance.values})


def _sub_split_stats(split: str, instances: list[_InstanceValues], is_proportion: Callable[[str], bool]) -> list[Stat]:
    parts: dict[str, list[_InstanceValues]] = defaultdict(list)
    for instance in instances:
        if instance.sub_split is not None:
            parts[instance.sub_split].append(instance)
    stats = []
    part_means: dict[str, list[float]] = defaultdict(list)
    for part in sorted(parts):
        in_contrast_sets = any(instance.contrast_set is not None for instance in parts[part])
        for name in _names(parts[part]):
            means = [mean for instance in parts[part] if (mean := instance.mean(name)) is not None]
            stat = summarize(name, split, means, proportion=is_proportion(name))
            stats.append(dataclasses.replace(stat, sub_split=part))
            if stat.mean is not None and not in_contrast_sets:
                part_means[name].append(stat.mean)
    for name in sorted(part_means):
        if len(part_means[name]) >= 2:
            stats.append(dataclasses.replace(summarize(name, split, part_means[name]), sub_split=MACRO_AVERAGE))
    return stats


def _consistency_stats(
    split: str, instances: list[_InstanceValues], is_proportion: Callable[[str], bool]
) -> list[Stat]:
    sets: dict[str, list[_InstanceValues]] = defaultdict(list)
    for instance in instances:
        if instance.contrast_set is not None:
            sets[instance.contrast_set].append(instance)
    # A set is its original and at least one perturbation; a lone question has nothing to be consistent with.
    complete = [members for _, members in sorted(sets.items()) if len(members) >= 2]
    stats = []
    for name in _names([member for members in complete for member in members]):
        if not is_proportion(name):
            continue
        worst = []
        for members in complete:
            means = [mean for member in members if (mean := member.mean(name)) is not None]
            if len(means) == len(members):
                worst.append(min(means))
        stats.append(dataclasses.replace(summarize(name, split, worst, proportion=True), sub_split=CONSISTENCY))
    return stats
