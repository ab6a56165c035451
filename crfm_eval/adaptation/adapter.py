"""The Adapter controller: a scenario's instances become a ScenarioState of requests."""

import logging
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Optional

from crfm_eval.adaptation.few_shot import chosen_indices, sample_in_context_examples
from crfm_eval.adaptation.fitting import fit_prompt
from crfm_eval.errors import UserError
from crfm_eval.models.service import Service
from crfm_eval.scenarios.scenario import TRAIN_SPLIT
from crfm_eval.specs import AdaptationSpec, ModelSpec
from crfm_eval.states import Instance, Request, RequestState, ScenarioState

log = logging.getLogger(__name__)

SUPPORTED_METHODS = ("generation",)


@dataclass(frozen=True)
class AdaptationPlan:
    """What a run will ask: its size, known up front, and the request states, made on demand."""

    num_eval_instances: int
    num_requests: int
    request_states: Iterator[RequestState]
    """Each eval instance's states (one per train trial) come together, in the order of the instances."""


class GenerationAdapter:
    """Method `generation`: the model writes the answer after the output prefix."""

    def __init__(self, spec: AdaptationSpec, model_spec: ModelSpec, service: Service, seed: int) -> None:
        if spec.method not in SUPPORTED_METHODS:
            raise UserError(
                f"adaptation.method={spec.method!r} is not supported; use one of: {', '.join(SUPPORTED_METHODS)}."
            )
        if spec.num_train_trials < 1:
            raise UserError(f"adaptation.num_train_trials must be at least 1, not {spec.num_train_trials}.")
        self.spec = spec
        self.model_spec = model_spec
        self.service = service
        self.seed = seed
        # The spec's window, unless the model itself knows a smaller one.
        windows = [model_spec.max_sequence_length, service.context_length(model_spec.name)]
        self.max_sequence_length = min(window for window in windows if window)

    def adapt(self, instances: Iterable[Instance], max_eval_instances: Optional[int]) -> ScenarioState:
        """Every request state at once (small runs and tests); the runner streams `plan` instead."""
        return ScenarioState(self.spec, list(self.plan(instances, max_eval_instances).request_states))

    def plan(self, instances: Iterable[Instance], max_eval_instances: Optional[int]) -> AdaptationPlan:
        """Check and choose up front (a bad setting fails before any request is sent), then build the
        request states lazily, one eval instance at a time with all its train trials together.

        `instances` may be a list or a scenario's stream that reads its data again each time it is
        iterated: it is gone through up to three times (to count the eval instances and collect the
        train pool, to find eval inputs in the pool, to build the states), so that a run holds only
        the train pool and the states in flight, however many eval instances there are.
        """
        eval_splits = set(self.spec.eval_splits)
        pool, num_eval = [], 0
        for instance in instances:
            num_eval += instance.split in eval_splits
            if instance.split == TRAIN_SPLIT:
                pool.append(instance)
        if not num_eval:
            splits = sorted({instance.split for instance in instances})
            raise UserError(
                f"The scenario has no instance in adaptation.eval_splits={self.spec.eval_splits}; "
                f"its splits are {splits}."
            )
        chosen = chosen_indices(num_eval, max_eval_instances, self.seed)
        # Never show the model an eval instance as an example, even if a data set repeats one.
        pool_inputs = {instance.input for instance in pool}
        if pool_inputs:
            asked = {i.input for i in self._eval_instances(instances, chosen) if i.input in pool_inputs}
            pool = [instance for instance in pool if instance.input not in asked]
        if self.spec.max_train_instances > len(pool):
            log.warning("Only %d train instances for %d in-context examples.", len(pool), self.spec.max_train_instances)
        examples = [
            sample_in_context_examples(
                pool, self.spec.max_train_instances, random.Random(f"{self.seed}/train_trial/{trial}")
            )
            for trial in range(self.spec.num_train_trials)
        ]
        num_chosen = num_eval if chosen is None else len(chosen)
        return AdaptationPlan(num_chosen, num_chosen * len(examples), self._states(instances, chosen, examples))

    def _eval_instances(self, instances: Iterable[Instance], chosen: Optional[set[int]]) -> Iterator[Instance]:
        eval_splits, index = set(self.spec.eval_splits), 0
        for instance in instances:
            if instance.split in eval_splits:
                if chosen is None or index in chosen:
                    yield instance
                index += 1

    def _states(
        self, instances: Iterable[Instance], chosen: Optional[set[int]], examples: list[list[Instance]]
    ) -> Iterator[RequestState]:
        for instance in self._eval_instances(instances, chosen):
            for trial, trial_examples in enumerate(examples):
                yield self._request_state(instance, trial_examples, trial)

    def _request_state(self, instance: Instance, examples: list[Instance], trial: int) -> RequestState:
        fitted = fit_prompt(
            self.spec,
            examples,
            instance,
            lambda text: self.service.tokenize(self.model_spec.name, text),
            self.max_sequence_length,
            lambda text: self.service.count_tokens(self.model_spec.name, text),
        )
        request = Request(
            model=self.model_spec.name,
            prompt=fitted.text,
            temperature=self.spec.temperature,
            max_tokens=self.spec.max_tokens,
            stop_sequences=list(self.spec.stop_sequences),
            num_completions=self.spec.num_outputs,
            top_k_per_token=self.spec.top_k_per_token,
            # A seed changes nothing in greedy decoding, so it stays out of the cache key there.
            seed=self.seed if self.spec.temperature > 0 else None,
        )
        return RequestState(
            instance=instance,
            train_trial_index=trial,
            request=request,
            train_instance_ids=[example.id for example in fitted.examples],
            num_train_instances=len(fitted.examples),
            prompt_truncated=fitted.truncated,
            num_prompt_tokens=fitted.num_tokens,
        )
