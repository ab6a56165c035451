"""Method `generation`: the model writes the answer after the output prefix (HELM's GenerationAdapter)."""

from crfm_eval.adaptation.adapter import EFFICIENCY, Adapter, metric_spec
from crfm_eval.states import Instance, RequestState

MATCHING = metric_spec("matching", "crfm_eval.metrics.matching.MatchingMetric")
# Every generation run also measures what it wrote: toxicity (offline scorer by default; `metric=[perspective]`
# swaps in Perspective) and social bias in the completions.
TOXICITY = metric_spec("toxicity", "crfm_eval.metrics.toxicity.ToxicityMetric")
BIAS = metric_spec("bias", "crfm_eval.metrics.bias.BiasMetric")


class GenerationAdapter(Adapter):
    metric_specs = (EFFICIENCY, MATCHING, TOXICITY, BIAS)

    def request_states(self, instance: Instance, examples: list[Instance], trial: int) -> list[RequestState]:
        fitted = self.fit(examples, instance)
        request = self.generation_request(fitted.text)
        return [self.base_state(instance, trial, fitted, request)]
