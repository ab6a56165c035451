"""`adaptation.sampling=helm`: HELM 0.5's choices, so that a run's prompts are byte-identical to HELM's.

Written from HELM's source (stanford-crfm/helm, crfm-helm 0.5.16) and checked against a recorded
HELM run (tests/test_helm_sampling.py, ../shared/fixtures/helm_boolq_5shot.json):

- Eval subsample (`runner.py`, `downsample_eval_instances`): when a split has more eval instances
  than `max_eval_instances`, `np.random.seed(0); np.random.choice(instances, k, replace=False)`,
  kept in the order drawn. The seed is always 0: HELM's subsample ignores any run seed. HELM runs
  each sub-split (an MMLU subject) as a run of its own, so each is subsampled on its own, each
  with seed 0; a contrast set (an original question and its perturbations, which HELM adds to the
  instance it drew) is drawn as one.
- In-context examples (`in_context_learning_adapter.py`, `sample_examples`): `random.seed(trial)`;
  the train instances grouped by the text of their first correct reference; labels ordered by
  how many instances they have, most first (equal counts: sorted by label, then shuffled); the
  labels taken in turn, each time `pool.pop(random.randrange(len(pool)))` from that label's
  instances; instances without a correct reference only when the labelled ones run out. The
  whole train split is the pool (HELM does not exclude eval instances), and the order chosen is
  the prompt order. A sub-split with train instances of its own (an MMLU subject's dev questions)
  draws from them, as HELM's per-subject run does; every sub-split starts from `random.seed(trial)`.
- Fitting (`_make_prompt_fit`): drop examples from the end until the prompt fits; with none left,
  keep the first tokens of the whole prompt that fit, then drop characters from the end until
  the re-tokenized text fits (HELM's `truncate_from_right`). The cut prompt loses its end, answer
  prefix included, as HELM's does. For the log-likelihood methods HELM fits the prompt with the
  scored reference appended; here the context is fitted with room kept for the longest
  continuation, which chooses the same examples unless a reference is cut.

Token counts come from the model's own tokenizer through the Service (HELM's window service may
count a BOS token that ours does not; that changes only when a prompt is cut, never which examples
are chosen).
"""

import random
from collections import defaultdict
from collections.abc import Iterable, Iterator
from itertools import cycle
from typing import Optional

import numpy as np

from crfm_eval.adaptation.few_shot import SamplingUnit, Subsample, sampling_unit
from crfm_eval.adaptation.fitting import FittedPrompt, TooLong
from crfm_eval.adaptation.prompt import build_prompt
from crfm_eval.adaptation.sampling import Sampling
from crfm_eval.states import Instance

HELM_SUBSAMPLE_SEED = 0
"""HELM fixes the seed of its eval subsample."""


class HelmSubsample(Subsample):
    """HELM's eval subsample: per sub-split, `np.random.seed(0)` choice without replacement, asked
    in the order drawn. The chosen units are ranked when drawn; `in_order` buffers only the chosen
    instances (at most `max_count` units per sub-split) to give them in that order."""

    def __init__(self, max_count: Optional[int]) -> None:
        super().__init__(max_count, HELM_SUBSAMPLE_SEED)
        self._rank: dict[SamplingUnit, tuple[int, int]] = {}

    def draw(self) -> bool:
        if self.max_count is None:
            return False
        capped = False
        for position, units in enumerate(self._strata.values()):
            units = list(dict.fromkeys(units))
            order: list[int] = list(range(len(units)))
            if len(units) > self.max_count:
                capped = True
                # np.random.choice without replacement is a permutation's prefix; drawing indices rather
                # than the instances themselves gives the same order without building an object array.
                drawn = np.random.RandomState(HELM_SUBSAMPLE_SEED).choice(len(units), self.max_count, replace=False)
                order = [int(index) for index in drawn]
            for rank, index in enumerate(order):
                self._rank[units[index]] = (position, rank)
        self._strata.clear()
        self._kept = set(self._rank) if capped else None
        if not capped:
            self._rank = {}
        return capped

    def in_order(self, chosen: Iterable[Instance]) -> Iterator[Instance]:
        if not self._rank:
            yield from chosen
            return
        # sorted() is stable: the questions of a contrast set keep their order.
        yield from sorted(chosen, key=lambda instance: self._rank[sampling_unit(instance)])


class HelmSampling(Sampling):
    excludes_eval_inputs = False  # HELM draws examples from the whole train split

    def subsample(self, max_eval_instances: Optional[int], seed: int) -> Subsample:
        return HelmSubsample(max_eval_instances)

    def examples_by_sub_split(
        self, pool: list[Instance], sub_splits: Iterable[Optional[str]], count: int, seed: int, trial: int
    ) -> dict[Optional[str], list[Instance]]:
        own_pools: dict[Optional[str], list[Instance]] = defaultdict(list)
        for instance in pool:
            if instance.sub_split is not None:
                own_pools[instance.sub_split].append(instance)
        return {
            sub_split: self.sample_examples(own_pools.get(sub_split) or pool, count, trial)
            for sub_split in sorted(set(sub_splits), key=str)
        }

    @staticmethod
    def sample_examples(pool: list[Instance], count: int, trial: int) -> list[Instance]:
        """HELM's `sample_examples`, seeded with the train trial index alone (the run's seed does not enter)."""
        rng = random.Random(trial)
        wanted = min(len(pool), count)
        by_label: dict[str, list[Instance]] = defaultdict(list)
        unlabeled: list[Instance] = []
        for instance in pool:
            reference = instance.first_correct_reference
            if reference is None:
                unlabeled.append(instance)
            else:
                by_label[reference.output].append(instance)
        labels_by_count: dict[int, list[str]] = defaultdict(list)
        for label, members in sorted(by_label.items()):
            labels_by_count[len(members)].append(label)
        labels: list[str] = []
        for size in sorted(labels_by_count, reverse=True):
            tied = labels_by_count[size]
            rng.shuffle(tied)  # draws nothing for a single label, as in HELM
            labels += tied
        examples: list[Instance] = []
        turns = cycle(labels)
        while wanted > 0:
            turn = next(turns, None)
            if not turn:  # HELM stops here, also on an empty-string label
                break
            if not any(by_label.values()):  # HELM would cycle forever here; go on to the unlabeled
                break
            members = by_label[turn]
            if not members:
                continue
            examples.append(members.pop(rng.randrange(len(members))))
            wanted -= 1
        return examples + rng.sample(unlabeled, wanted)

    def cut_alone(self, too_long: TooLong) -> FittedPrompt:
        # HELM's truncate_from_right: keep the first tokens of the whole prompt.
        tokenize, budget = too_long.tokenize, too_long.budget
        tokens = tokenize(build_prompt(too_long.spec, [], too_long.eval_instance, prompt_format=too_long.prompt_format))
        cut = "".join(tokens[:budget])
        num_tokens = len(tokenize(cut))
        while num_tokens > budget:  # re-tokenizing a cut text can give more tokens than were kept
            cut = cut[:-1]
            num_tokens = len(tokenize(cut))
        return FittedPrompt(cut, [], num_tokens, truncated=True)
