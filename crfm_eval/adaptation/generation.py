"""Method `generation`: the model writes the answer after the output prefix (HELM's GenerationAdapter)."""

from crfm_eval.adaptation.adapter import EFFICIENCY, Adapter, metric_spec
from crfm_eval.states import Instance, Request, RequestState

MATCHING = metric_spec("matching", "crfm_eval.metrics.matching.MatchingMetric")
# Every generation run also measures what it wrote: toxicity (offline scorer by default; `metric=[perspective]`
# swaps in Perspective) and social bias in the completions.
TOXICITY = metric_spec("toxicity", "crfm_eval.metrics.toxicity.ToxicityMetric")
BIAS = metric_spec("bias", "crfm_eval.metrics.bias.BiasMetric")


class GenerationAdapter(Adapter):
    metric_specs = (EFFICIENCY, MATCHING, TOXICITY, BIAS)

    def request_states(self, instance: Instance, examples: list[Instance], trial: int) -> list[RequestState]:
        fitted = self.fit(examples, instance)
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
        return [self.base_state(instance, trial, fitted, request)]
