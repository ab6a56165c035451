"""Choosing in-context examples and the eval subsample: seeded, class-balanced, never the eval instance."""

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


def chosen_indices(count: int, max_count: Optional[int], seed: int) -> Optional[set[int]]:
    """Which of `count` instances to keep: at most `max_count` positions drawn with `seed`, or None for all."""
    if max_count is None or count <= max_count:
        return None
    return set(random.Random(seed).sample(range(count), max_count))


def downsample(instances: list[Instance], max_count: Optional[int], seed: int) -> list[Instance]:
    """At most `max_count` instances drawn with `seed`, kept in their original order."""
    chosen = chosen_indices(len(instances), max_count, seed)
    return instances if chosen is None else [instance for index, instance in enumerate(instances) if index in chosen]
