"""The Adapter controller: a scenario's instances become a ScenarioState of requests.

What every method shares lives here: which instances are evaluated (the eval splits, subsampled
with the seed), the in-context examples of each train trial (seeded, class-balanced, never an
eval instance, the same for every eval instance of a trial), the model's context window, and
fitting a prompt into it. A method (one file each) only says which requests one eval instance
becomes, and which metric sets score them.
"""

import logging
from abc import ABC, abstractmethod
from typing import ClassVar, Optional

from crfm_eval.adaptation.few_shot import downsample, in_context_examples
from crfm_eval.adaptation.fitting import FittedPrompt, fit_prompt
from crfm_eval.adaptation.prompt import GENERATION_FORMAT, PromptFormat
from crfm_eval.errors import UserError
from crfm_eval.models.service import Service
from crfm_eval.scenarios.scenario import TRAIN_SPLIT
from crfm_eval.specs import AdaptationSpec, MetricSpec, ModelSpec
from crfm_eval.states import Instance, Request, RequestState, ScenarioState

log = logging.getLogger(__name__)


def metric_spec(name: str, class_path: str, **args: object) -> MetricSpec:
    return MetricSpec(_target_=class_path, args=dict(args), name=name)


EFFICIENCY = metric_spec("efficiency", "crfm_eval.metrics.efficiency.EfficiencyMetric")
CALIBRATION = metric_spec("calibration", "crfm_eval.metrics.calibration.CalibrationMetric")


class Adapter(ABC):
    scores_text: ClassVar[bool] = False
    """The method asks for the log-probability of given text, which not every model API gives."""

    uses_in_context_examples: ClassVar[bool] = True

    metric_specs: ClassVar[tuple[MetricSpec, ...]] = (EFFICIENCY,)
    """The metric sets that come with the method (a run adds the ones its config names)."""

    def __init__(self, spec: AdaptationSpec, model_spec: ModelSpec, service: Service, seed: int) -> None:
        if spec.num_train_trials < 1:
            raise UserError(f"adaptation.num_train_trials must be at least 1, not {spec.num_train_trials}.")
        self.spec = spec
        self.model_spec = model_spec
        self.service = service
        self.seed = seed
        # The spec's window, unless the model itself knows a smaller one.
        windows = [model_spec.max_sequence_length, service.context_length(model_spec.name)]
        self.max_sequence_length = min(window for window in windows if window)

    def adapt(self, instances: list[Instance], max_eval_instances: Optional[int]) -> ScenarioState:
        eval_instances = [instance for instance in instances if instance.split in self.spec.eval_splits]
        if not eval_instances:
            splits = sorted({instance.split for instance in instances})
            raise UserError(
                f"The scenario has no instance in adaptation.eval_splits={self.spec.eval_splits}; "
                f"its splits are {splits}."
            )
        eval_instances = downsample(eval_instances, max_eval_instances, self.seed)
        if not self.uses_in_context_examples:
            states = [state for instance in eval_instances for state in self.request_states(instance, [], 0)]
            return ScenarioState(self.spec, states)
        # Never show the model an eval instance as an example, even if a data set repeats one.
        eval_inputs = {instance.input for instance in eval_instances}
        pool = [i for i in instances if i.split == TRAIN_SPLIT and i.input not in eval_inputs]
        if self.spec.max_train_instances > len(pool):
            log.warning("Only %d train instances for %d in-context examples.", len(pool), self.spec.max_train_instances)
        states = []
        for trial in range(self.spec.num_train_trials):
            examples = in_context_examples(pool, eval_instances, self.spec.max_train_instances, self.seed, trial)
            for instance in eval_instances:
                states += self.request_states(instance, examples[instance.sub_split], trial)
        return ScenarioState(self.spec, states)

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
        return fit_prompt(
            self.spec, examples, instance, self.tokenize, self.max_sequence_length, prompt_format, reserved_tokens
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
