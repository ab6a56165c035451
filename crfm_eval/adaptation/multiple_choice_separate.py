"""Method `multiple_choice_separate_original`: each reference scored by its log-likelihood.

One log-likelihood request per reference: the context is the prompt up to the right-stripped
output prefix (`...Answer:`), the continuation is the output prefix's trailing whitespace and the
reference (` Yes`). The model generates nothing; a reference's score is the sum of its tokens'
log-probabilities and the prediction is the argmax (see metrics/multiple_choice.py for the
length-normalized variants). The references of one instance share their context, so they are
sent one after another and a local model evaluates the shared prompt once.
"""

import dataclasses

from crfm_eval.adaptation.adapter import CALIBRATION, EFFICIENCY, Adapter, metric_spec
from crfm_eval.adaptation.fitting import FittedPrompt
from crfm_eval.states import Instance, Request, RequestState

MULTIPLE_CHOICE = metric_spec("multiple_choice", "crfm_eval.metrics.multiple_choice.MultipleChoiceMetric")
ORIGINAL, CALIBRATION_MODE = "original", "calibration"


class MultipleChoiceSeparateAdapter(Adapter):
    scores_text = True
    metric_specs = (EFFICIENCY, MULTIPLE_CHOICE, CALIBRATION)
    requests_per_instance = None  # one per reference

    def continuation(self, reference_text: str) -> str:
        """What is scored after the prompt: the whitespace the output prefix ends with, then the reference."""
        prefix = self.spec.output_prefix
        return prefix[len(prefix.rstrip()) :] + reference_text

    def request_states(self, instance: Instance, examples: list[Instance], trial: int) -> list[RequestState]:
        continuations = [self.continuation(reference.output) for reference in instance.references]
        # Keep room for the longest continuation (its token count, plus one for the boundary).
        longest = max((len(self.tokenize(text)) for text in continuations), default=0)
        fitted = self.fit(examples, instance, reserved_tokens=longest + 1)
        return [
            self.scoring_state(instance, trial, fitted, fitted.text, continuation, index, ORIGINAL)
            for index, continuation in enumerate(continuations)
        ]

    def scoring_state(
        self,
        instance: Instance,
        trial: int,
        fitted: FittedPrompt,
        context: str,
        continuation: str,
        reference_index: int,
        mode: str,
    ) -> RequestState:
        request = Request(
            model=self.model_spec.name,
            prompt=context,
            continuation=continuation,
            temperature=0.0,
            max_tokens=0,
            top_k_per_token=self.spec.top_k_per_token,
        )
        state = self.base_state(instance, trial, fitted, request)
        return dataclasses.replace(state, reference_index=reference_index, request_mode=mode)
