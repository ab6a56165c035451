"""The Adapter controller: a scenario's instances become a ScenarioState of requests.

What every method shares lives here: which instances are evaluated (the eval splits, subsampled),
the in-context examples of each train trial (the same for every eval instance of a trial and
sub-split), the model's context window, and fitting a prompt into it; how the subsample and the
examples are drawn and how a prompt is fitted is `adaptation.sampling`'s (sampling.py: ours by
default, or HELM's). A method (one file each) only says which requests one eval instance becomes,
and which metric sets score them.
"""

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Optional

from crfm_eval.adaptation.few_shot import Subsample
from crfm_eval.adaptation.fitting import FittedPrompt
from crfm_eval.adaptation.prompt import GENERATION_FORMAT, PromptFormat
from crfm_eval.adaptation.sampling import sampling_for
from crfm_eval.errors import UserError
from crfm_eval.models.service import Service
from crfm_eval.scenarios.scenario import TRAIN_SPLIT
from crfm_eval.specs import AdaptationSpec, MetricSpec, ModelSpec
from crfm_eval.states import Instance, Request, RequestState, ScenarioState

log = logging.getLogger(__name__)


def metric_spec(name: str, class_path: str, **args: object) -> MetricSpec:
    return MetricSpec(_target_=class_path, args=dict(args), name=name)


@dataclass(frozen=True)
class AdaptationPlan:
    """What a run will ask: its size, known up front, and the request states, made on demand."""

    num_eval_instances: int
    num_requests: Optional[int]
    """Request states the plan makes, when the method knows it up front (None: it depends on each
    instance, e.g. one request per reference)."""
    request_states: Iterator[RequestState]
    """Each eval instance's states come together (all its train trials), in the order of the instances."""


EFFICIENCY = metric_spec("efficiency", "crfm_eval.metrics.efficiency.EfficiencyMetric")
CALIBRATION = metric_spec("calibration", "crfm_eval.metrics.calibration.CalibrationMetric")


class Adapter(ABC):
    scores_text: ClassVar[bool] = False
    """The method asks for the log-probability of given text, which not every model API gives."""

    uses_in_context_examples: ClassVar[bool] = True

    metric_specs: ClassVar[tuple[MetricSpec, ...]] = (EFFICIENCY,)
    """The metric sets that come with the method (a run adds the ones its config names)."""

    requests_per_instance: ClassVar[Optional[int]] = 1
    """Requests one eval instance makes in one train trial, if the same for every instance (None:
    it varies, e.g. one per reference); only the progress bar and messages use it."""

    def __init__(self, spec: AdaptationSpec, model_spec: ModelSpec, service: Service, seed: int) -> None:
        if spec.num_train_trials < 1:
            raise UserError(f"adaptation.num_train_trials must be at least 1, not {spec.num_train_trials}.")
        self.spec = spec
        self.model_spec = model_spec
        self.service = service
        self.seed = seed
        self.sampling = sampling_for(spec.sampling)
        # The spec's window, unless the model itself knows a smaller one.
        windows = [model_spec.max_sequence_length, service.context_length(model_spec.name)]
        self.max_sequence_length = min(window for window in windows if window)

    def adapt(self, instances: Iterable[Instance], max_eval_instances: Optional[int]) -> ScenarioState:
        """Every request state at once (small runs and tests); the runner streams `plan` instead."""
        return ScenarioState(self.spec, list(self.plan(instances, max_eval_instances).request_states))

    def plan(self, instances: Iterable[Instance], max_eval_instances: Optional[int]) -> AdaptationPlan:
        """Check and choose up front (a bad setting fails before any request is sent), then build the
        request states lazily, one eval instance at a time with all its train trials together, so
        that a run holds only the states in flight and a metric sees an instance's states together.

        `instances` may be a list or a scenario's stream that reads its data again each time it is
        iterated: it is gone through up to three times (to count the eval instances and collect the
        train pool, to count the subsample and find its inputs in the pool, to build the states), so
        that a run holds only the train pool (and, with max_eval_instances, the subsample's keys),
        however many eval instances there are. The instances chosen and the examples are those of
        `downsample` and `in_context_examples` (sub-split pools, contrast sets whole).
        """
        eval_splits = set(self.spec.eval_splits)
        pool, num_eval, sub_splits = [], 0, set()
        subsample = self.sampling.subsample(max_eval_instances, self.seed)
        for instance in instances:
            if instance.split in eval_splits:
                num_eval += 1
                sub_splits.add(instance.sub_split)
                subsample.add(instance)
            if instance.split == TRAIN_SPLIT:
                pool.append(instance)
        if not num_eval:
            splits = sorted({instance.split for instance in instances})
            raise UserError(
                f"The scenario has no instance in adaptation.eval_splits={self.spec.eval_splits}; "
                f"its splits are {splits}."
            )
        if not self.uses_in_context_examples:
            pool = []
        num_chosen = num_eval
        # A second pass over the chosen eval instances, only when there is a subsample to count or a
        # pool to clean: never show the model an eval instance as an example, even if a data set repeats
        # one (unless the sampling says otherwise: HELM draws from the whole train split).
        if subsample.draw() or pool:
            pool_inputs = {instance.input for instance in pool}
            num_chosen, sub_splits, asked = 0, set(), set()
            for instance in self._eval_instances(instances, subsample):
                num_chosen += 1
                sub_splits.add(instance.sub_split)
                if instance.input in pool_inputs:
                    asked.add(instance.input)
            if self.sampling.excludes_eval_inputs:
                pool = [instance for instance in pool if instance.input not in asked]
        examples: list[dict[Optional[str], list[Instance]]] = [{}]
        if self.uses_in_context_examples:
            if self.spec.max_train_instances > len(pool):
                log.warning(
                    "Only %d train instances for %d in-context examples.", len(pool), self.spec.max_train_instances
                )
            examples = [
                self.sampling.examples_by_sub_split(pool, sub_splits, self.spec.max_train_instances, self.seed, trial)
                for trial in range(self.spec.num_train_trials)
            ]
        per_instance = self.requests_per_instance
        num_requests = None if per_instance is None else num_chosen * len(examples) * per_instance
        return AdaptationPlan(num_chosen, num_requests, self._states(instances, subsample, examples))

    def _eval_instances(self, instances: Iterable[Instance], subsample: Subsample) -> Iterator[Instance]:
        eval_splits = set(self.spec.eval_splits)
        for instance in instances:
            if instance.split in eval_splits and subsample.keeps(instance):
                yield instance

    def _states(
        self,
        instances: Iterable[Instance],
        subsample: Subsample,
        examples: list[dict[Optional[str], list[Instance]]],
    ) -> Iterator[RequestState]:
        # In the order the sampling asks them (ours: the data set's; HELM's: its draw order).
        for instance in subsample.in_order(self._eval_instances(instances, subsample)):
            for trial, trial_examples in enumerate(examples):
                yield from self.request_states(instance, trial_examples.get(instance.sub_split, []), trial)

    @abstractmethod
    def request_states(self, instance: Instance, examples: list[Instance], trial: int) -> list[RequestState]:
        """The requests of one eval instance in one train trial, in the order they are best sent
        (requests that share a prompt next to each other, so a local model reuses its KV cache)."""

    def tokenize(self, text: str) -> list[str]:
        return self.service.tokenize(self.model_spec.name, text)

    def fit(
        self,
        examples: list[Instance],
        instance: Instance,
        prompt_format: PromptFormat = GENERATION_FORMAT,
        reserved_tokens: Optional[int] = None,
    ) -> FittedPrompt:
        return self.sampling.fit_prompt(
            self.spec,
            examples,
            instance,
            self.tokenize,
            self.max_sequence_length,
            prompt_format,
            reserved_tokens,
            lambda text: self.service.count_tokens(self.model_spec.name, text),
        )

    def generation_request(self, prompt: str) -> Request:
        """The request that asks the model to write after `prompt`, with the adaptation's decoding settings."""
        return Request(
            model=self.model_spec.name,
            prompt=prompt,
            temperature=self.spec.temperature,
            max_tokens=self.spec.max_tokens,
            stop_sequences=list(self.spec.stop_sequences),
            num_completions=self.spec.num_outputs,
            top_k_per_token=self.spec.top_k_per_token,
            # A seed changes nothing in greedy decoding, so it stays out of the cache key there.
            seed=self.seed if self.spec.temperature > 0 else None,
        )

    def base_state(self, instance: Instance, trial: int, fitted: FittedPrompt, request: Request) -> RequestState:
        """A request state built from a fitted prompt (methods replace the fields they add)."""
        return RequestState(
            instance=instance,
            train_trial_index=trial,
            request=request,
            train_instance_ids=[example.id for example in fitted.examples],
            num_train_instances=len(fitted.examples),
            prompt_truncated=fitted.truncated,
            num_prompt_tokens=fitted.num_tokens,
        )
