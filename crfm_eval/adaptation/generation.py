"""Method `generation`: the model writes the answer after the output prefix (HELM's GenerationAdapter)."""

from crfm_eval.adaptation.adapter import EFFICIENCY, Adapter, metric_spec
from crfm_eval.states import Instance, Request, RequestState

MATCHING = metric_spec("matching", "crfm_eval.metrics.matching.MatchingMetric")


class GenerationAdapter(Adapter):
    metric_specs = (EFFICIENCY, MATCHING)

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
