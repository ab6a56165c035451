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
from itertools import cycle
from typing import Optional

import numpy as np

from crfm_eval.adaptation.fitting import FittedPrompt, Tokenize, token_budget
from crfm_eval.adaptation.prompt import GENERATION_FORMAT, PromptFormat, build_prompt
from crfm_eval.adaptation.sampling import Sampling
from crfm_eval.scenarios.scenario import TRAIN_SPLIT
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Instance

HELM_SUBSAMPLE_SEED = 0
"""HELM fixes the seed of its eval subsample."""


class HelmSampling(Sampling):
    def eval_subsample(
        self, eval_instances: list[Instance], max_eval_instances: Optional[int], seed: int
    ) -> list[Instance]:
        if max_eval_instances is None:
            return eval_instances
        # sub-split (None for none, or for contrast sets, which span two) -> sampling unit -> its instances
        strata: dict[Optional[str], dict[str, list[Instance]]] = {}
        for instance in eval_instances:
            stratum = instance.sub_split if instance.contrast_set is None else None
            unit = instance.id if instance.contrast_set is None else f"contrast_set/{instance.contrast_set}"
            strata.setdefault(stratum, {}).setdefault(unit, []).append(instance)
        chosen: list[Instance] = []
        for units in strata.values():
            groups = list(units.values())
            if len(groups) > max_eval_instances:
                # np.random.choice without replacement is a permutation's prefix; drawing indices rather
                # than the instances themselves gives the same order without building an object array.
                drawn = np.random.RandomState(HELM_SUBSAMPLE_SEED).choice(
                    len(groups), max_eval_instances, replace=False
                )
                groups = [groups[int(index)] for index in drawn]
            chosen += [instance for group in groups for instance in group]
        return chosen

    def train_pool(self, instances: list[Instance], eval_instances: list[Instance]) -> list[Instance]:
        return [instance for instance in instances if instance.split == TRAIN_SPLIT]

    def in_context_examples(
        self, pool: list[Instance], eval_instances: list[Instance], count: int, seed: int, trial: int
    ) -> dict[Optional[str], list[Instance]]:
        own_pools: dict[Optional[str], list[Instance]] = defaultdict(list)
        for instance in pool:
            if instance.sub_split is not None:
                own_pools[instance.sub_split].append(instance)
        sub_splits = sorted({instance.sub_split for instance in eval_instances}, key=str)
        return {
            sub_split: self.sample_examples(own_pools.get(sub_split) or pool, count, trial) for sub_split in sub_splits
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

    def fit_prompt(
        self,
        spec: AdaptationSpec,
        examples: list[Instance],
        eval_instance: Instance,
        tokenize: Tokenize,
        max_sequence_length: int,
        prompt_format: PromptFormat = GENERATION_FORMAT,
        reserved_tokens: Optional[int] = None,
    ) -> FittedPrompt:
        budget = token_budget(spec, max_sequence_length, reserved_tokens)
        for kept in range(len(examples), 0, -1):
            text = build_prompt(spec, examples[:kept], eval_instance, prompt_format=prompt_format)
            num_tokens = len(tokenize(text))
            if num_tokens <= budget:
                return FittedPrompt(text, examples[:kept], num_tokens, truncated=False)
        text = build_prompt(spec, [], eval_instance, prompt_format=prompt_format)
        tokens = tokenize(text)
        if len(tokens) <= budget:
            return FittedPrompt(text, [], len(tokens), truncated=False)
        cut = "".join(tokens[:budget])
        num_tokens = len(tokenize(cut))
        while num_tokens > budget:  # re-tokenizing a cut text can give more tokens than were kept
            cut = cut[:-1]
            num_tokens = len(tokenize(cut))
        return FittedPrompt(cut, [], num_tokens, truncated=True)
