"""Method `multiple_choice_separate_calibrated`: each reference's log-likelihood after the prompt,
minus its log-likelihood after a neutral context (Brown et al., 2020, section 2.4; HELM's
calibrated adapter).

The neutral context is the bare output prefix, right-stripped (`Answer:`), as HELM uses; a spec
without an output prefix scores the reference after nothing (the model's BOS or end-of-text token).
All the original requests of an instance come first, then all the calibration ones: each group
shares its context, and the calibration requests of instances with the same references are the
same requests, so they are asked once and then served from the cache.
"""

from crfm_eval.adaptation.fitting import FittedPrompt
from crfm_eval.adaptation.multiple_choice_separate import CALIBRATION_MODE, MultipleChoiceSeparateAdapter
from crfm_eval.states import Instance, RequestState


class MultipleChoiceCalibratedAdapter(MultipleChoiceSeparateAdapter):
    def request_states(self, instance: Instance, examples: list[Instance], trial: int) -> list[RequestState]:
        originals = super().request_states(instance, examples, trial)
        neutral = self.spec.output_prefix.rstrip()
        fitted = FittedPrompt(neutral, [], len(self.tokenize(neutral)), truncated=False)
        calibration = [
            self.scoring_state(
                instance, trial, fitted, neutral, state.request.continuation or "", index, CALIBRATION_MODE
            )
            for index, state in enumerate(originals)
        ]
        return originals + calibration
