"""Choosing in-context examples and the eval subsample: seeded, class-balanced, never the eval instance.

Examples for an eval instance come from the train instances of its sub-split when there are any (an
MMLU subject's own dev questions), else from the whole train pool; a contrast set is sampled whole.
"""

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Optional

from crfm_eval.states import Instance


def _label(instance: Instance) -> Optional[str]:
    reference = instance.first_correct_reference
    return reference.output if reference else None


def sample_in_context_examples(pool: list[Instance], count: int, rng: random.Random) -> list[Instance]:
    """`count` examples from `pool`, spread over labels as evenly as the pool allows.

    Labels take turns, the most frequent first (so 5 shots on a 62%-Yes set give 3 Yes and 2 No);
    within a label the pick is random. The final order is shuffled so that the label pattern does
    not always end on the majority class.
    """
    if count <= 0 or not pool:
        return []
    by_label: dict[Optional[str], list[Instance]] = defaultdict(list)
    for instance in pool:
        by_label[_label(instance)].append(instance)
    labels = sorted(by_label, key=lambda label: (-len(by_label[label]), str(label)))
    for label in labels:
        rng.shuffle(by_label[label])
    chosen: list[Instance] = []
    while len(chosen) < min(count, len(pool)):
        for label in labels:
            if by_label[label] and len(chosen) < count:
                chosen.append(by_label[label].pop())
    rng.shuffle(chosen)
    return chosen


def in_context_examples(
    pool: list[Instance], eval_instances: Iterable[Instance], count: int, seed: int, trial: int
) -> dict[Optional[str], list[Instance]]:
    """Eval sub-split -> the examples of its prompts in train trial `trial` (the same for all its instances)."""
    return examples_by_sub_split(pool, {instance.sub_split for instance in eval_instances}, count, seed, trial)


def examples_by_sub_split(
    pool: list[Instance], sub_splits: Iterable[Optional[str]], count: int, seed: int, trial: int
) -> dict[Optional[str], list[Instance]]:
    """Sub-split of the eval instances -> the examples of its prompts in train trial `trial`.

    A sub-split with train instances of its own draws from them (its own seeded stream, so adding a
    subject changes no other subject's examples); any other draws from the whole pool with the run's
    stream, as a scenario without sub-splits always does.
    """
    own_pools: dict[Optional[str], list[Instance]] = defaultdict(list)
    for instance in pool:
        if instance.sub_split is not None:
            own_pools[instance.sub_split].append(instance)
    chosen = {}
    for sub_split in sorted(set(sub_splits), key=str):
        own = own_pools.get(sub_split)
        if own:
            rng = random.Random(f"{seed}/train_trial/{trial}/sub_split/{sub_split}")
            chosen[sub_split] = sample_in_context_examples(own, count, rng)
        else:
            chosen[sub_split] = sample_in_context_examples(pool, count, random.Random(f"{seed}/train_trial/{trial}"))
    return chosen


SamplingUnit = tuple[str, str]


def sampling_unit(instance: Instance) -> SamplingUnit:
    """What a subsample keeps or drops whole: a contrast set, else the instance."""
    return ("contrast_set", instance.contrast_set) if instance.contrast_set is not None else ("id", instance.id)


def _stratum(instance: Instance) -> Optional[str]:
    # A contrast set spans two sub-splits (original, perturbed): it is sampled as one unit, unstratified.
    return instance.sub_split if instance.contrast_set is None else None


class Subsample:
    """The eval subsample, drawn from instances seen one at a time (a run streams its instances).

    At most `max_count` instances of each sub-split drawn with `seed`. Each sub-split (e.g. an MMLU
    subject) is capped on its own, as HELM caps each subject's run, so that every part keeps its
    share however many parts there are; its draw has its own seeded stream, so adding a subject
    changes no other subject's sample. A contrast set (an original question and its perturbations)
    counts as one and is kept or dropped whole, as HELM counts an instance with its contrast
    inputs: a set cut in half has no consistency. Without a cap nothing is kept in memory.
    """

    def __init__(self, max_count: Optional[int], seed: int) -> None:
        self.max_count, self.seed = max_count, seed
        self._strata: dict[Optional[str], list[SamplingUnit]] = defaultdict(list)
        self._kept: Optional[set[SamplingUnit]] = None

    def add(self, instance: Instance) -> None:
        """Feed every eval instance once, in order, before asking `keeps`."""
        if self.max_count is None:
            return
        units = self._strata[_stratum(instance)]
        if not units or units[-1] != sampling_unit(instance):
            units.append(sampling_unit(instance))

    def draw(self) -> bool:
        """Draw the subsample from the instances fed; False when every instance is kept."""
        if self.max_count is None:
            return False
        kept: set[SamplingUnit] = set()
        capped = False
        for stratum, units in self._strata.items():
            units = list(dict.fromkeys(units))
            if len(units) <= self.max_count:
                kept.update(units)
                continue
            capped = True
            # The whole-split stream (no sub-split) is the one every scenario without parts always used.
            rng = random.Random(self.seed if stratum is None else f"{self.seed}/sub_split/{stratum}")
            kept.update(units[index] for index in rng.sample(range(len(units)), self.max_count))
        self._strata.clear()
        self._kept = kept if capped else None
        return capped

    def keeps(self, instance: Instance) -> bool:
        return self._kept is None or sampling_unit(instance) in self._kept

    def in_order(self, chosen: Iterable[Instance]) -> Iterator[Instance]:
        """The chosen instances in the order they are asked: here the data set's (a subclass may
        reorder, e.g. HELM's draw order)."""
        yield from chosen


def downsample(instances: list[Instance], max_count: Optional[int], seed: int) -> list[Instance]:
    """At most `max_count` instances of each sub-split drawn with `seed` (see `Subsample`), kept in
    their original order."""
    subsample = Subsample(max_count, seed)
    for instance in instances:
        subsample.add(instance)
    if not subsample.draw():
        return instances
    return [instance for instance in instances if subsample.keeps(instance)]
