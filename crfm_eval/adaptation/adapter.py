"""The Adapter controller: a scenario's instances become a ScenarioState of requests."""

import logging
from typing import Optional

from crfm_eval.adaptation.sampling import sampling_for
from crfm_eval.errors import UserError
from crfm_eval.models.service import Service
from crfm_eval.specs import AdaptationSpec, ModelSpec
from crfm_eval.states import Instance, Request, RequestState, ScenarioState

log = logging.getLogger(__name__)

SUPPORTED_METHODS = ("generation",)


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
        self.sampling = sampling_for(spec.sampling)
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
        eval_instances = self.sampling.eval_subsample(eval_instances, max_eval_instances, self.seed)
        pool = self.sampling.train_pool(instances, eval_instances)
        if self.spec.max_train_instances > len(pool):
            log.warning("Only %d train instances for %d in-context examples.", len(pool), self.spec.max_train_instances)
        states = []
        for trial in range(self.spec.num_train_trials):
            examples = self.sampling.in_context_examples(pool, self.spec.max_train_instances, self.seed, trial)
            states += [self._request_state(instance, examples, trial) for instance in eval_instances]
        return ScenarioState(self.spec, states)

    def _request_state(self, instance: Instance, examples: list[Instance], trial: int) -> RequestState:
        fitted = self.sampling.fit_prompt(
            self.spec,
            examples,
            instance,
            lambda text: self.service.tokenize(self.model_spec.name, text),
            self.max_sequence_length,
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
