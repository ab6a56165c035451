"""Method `multiple_choice_joint`: the references listed as lettered options, the model writes a letter.

    <input_prefix><input><input_suffix>
    A. <reference 1><reference_suffix>
    B. <reference 2><reference_suffix>
    <output_prefix>B<output_suffix>          (an in-context example; the eval instance ends at "Answer:")

The letter maps back to a reference through the request state's `output_mapping` (HELM's joint
adapter). With `shuffle_references`, each instance's options (an example's too) are listed in an
order drawn from the run's seed and the instance's id, so every run of the same config lists them
the same way.
"""

import dataclasses
import random

from crfm_eval.adaptation.adapter import CALIBRATION, EFFICIENCY, Adapter, metric_spec
from crfm_eval.adaptation.generation import MATCHING
from crfm_eval.adaptation.prompt import OPTIONS_FORMAT, option_letter
from crfm_eval.states import Instance, RequestState

JOINT_CHOICE = metric_spec("joint_choice", "crfm_eval.metrics.multiple_choice.JointChoiceMetric")


class MultipleChoiceJointAdapter(Adapter):
    metric_specs = (EFFICIENCY, MATCHING, JOINT_CHOICE, CALIBRATION)

    def request_states(self, instance: Instance, examples: list[Instance], trial: int) -> list[RequestState]:
        instance = self._ordered(instance)
        fitted = self.fit([self._ordered(example) for example in examples], instance, OPTIONS_FORMAT)
        request = self.generation_request(fitted.text)
        mapping = {
            option_letter(self.spec.reference_prefix, index): reference.output
            for index, reference in enumerate(instance.references)
        }
        return [dataclasses.replace(self.base_state(instance, trial, fitted, request), output_mapping=mapping)]

    def _ordered(self, instance: Instance) -> Instance:
        if not self.spec.shuffle_references:
            return instance
        references = list(instance.references)
        random.Random(f"{self.seed}/references/{instance.id}").shuffle(references)
        return dataclasses.replace(instance, references=references)
