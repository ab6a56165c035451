"""Choosing in-context examples and the eval subsample: seeded, class-balanced, never the eval instance.

Examples for an eval instance come from the train instances of its sub-split when there are any (an
MMLU subject's own dev questions), else from the whole train pool; a contrast set is sampled whole.
"""

import random
from collections import defaultdict
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
    pool: list[Instance], eval_instances: list[Instance], count: int, seed: int, trial: int
) -> dict[Optional[str], list[Instance]]:
    """Eval sub-split -> the examples of its prompts in train trial `trial` (the same for all its instances).

    A sub-split with train instances of its own draws from them (its own seeded stream, so adding a
    subject changes no other subject's examples); any other draws from the whole pool with the run's
    stream, as a scenario without sub-splits always does.
    """
    own_pools: dict[Optional[str], list[Instance]] = defaultdict(list)
    for instance in pool:
        if instance.sub_split is not None:
            own_pools[instance.sub_split].append(instance)
    chosen = {}
    for sub_split in sorted({instance.sub_split for instance in eval_instances}, key=str):
        own = own_pools.get(sub_split)
        if own:
            rng = random.Random(f"{seed}/train_trial/{trial}/sub_split/{sub_split}")
            chosen[sub_split] = sample_in_context_examples(own, count, rng)
        else:
            chosen[sub_split] = sample_in_context_examples(pool, count, random.Random(f"{seed}/train_trial/{trial}"))
    return chosen


def _sampling_unit(instance: Instance) -> tuple[str, str]:
    return ("contrast_set", instance.contrast_set) if instance.contrast_set is not None else ("id", instance.id)


def _stratum(instance: Instance) -> Optional[str]:
    # A contrast set spans two sub-splits (original, perturbed): it is sampled as one unit, unstratified.
    return instance.sub_split if instance.contrast_set is None else None


def downsample(instances: list[Instance], max_count: Optional[int], seed: int) -> list[Instance]:
    """At most `max_count` instances of each sub-split drawn with `seed`, kept in their original order.

    Each sub-split (e.g. an MMLU subject) is capped on its own, as HELM caps each subject's run, so
    that every part keeps its share however many parts there are; its draw has its own seeded
    stream, so adding a subject changes no other subject's sample. A contrast set (an original
    question and its perturbations) counts as one and is kept or dropped whole, as HELM counts an
    instance with its contrast inputs: a set cut in half has no consistency.
    """
    if max_count is None:
        return instances
    strata: dict[Optional[str], list[tuple[str, str]]] = defaultdict(list)
    for instance in instances:
        units = strata[_stratum(instance)]
        if not units or units[-1] != _sampling_unit(instance):
            units.append(_sampling_unit(instance))
    kept: set[tuple[str, str]] = set()
    for stratum, units in strata.items():
        units = list(dict.fromkeys(units))
        if len(units) <= max_count:
            kept.update(units)
            continue
        # The whole-split stream (no sub-split) is the one every scenario without parts always used.
        rng = random.Random(seed if stratum is None else f"{seed}/sub_split/{stratum}")
        kept.update(units[index] for index in rng.sample(range(len(units)), max_count))
    return [instance for instance in instances if _sampling_unit(instance) in kept]
