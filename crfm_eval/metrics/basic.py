"""The basic metrics: correctness of the first completion against the correct references, plus
token counts, runtime and how the prompt was built."""

from crfm_eval.metrics.metric import Metric
from crfm_eval.metrics.text_matching import (
    exact_match,
    prefix_exact_match,
    quasi_exact_match,
    quasi_prefix_exact_match,
)
from crfm_eval.states import RequestState

CORRECTNESS = {
    "exact_match": exact_match,
    "quasi_exact_match": quasi_exact_match,
    "prefix_exact_match": prefix_exact_match,
    "quasi_prefix_exact_match": quasi_prefix_exact_match,
}


class BasicMetric(Metric):
    execution_dependent = frozenset({"cached", "request_failed"})
    proportions = frozenset({*CORRECTNESS, "prompt_truncated", "cached", "request_failed"})

    def evaluate(self, state: RequestState) -> dict[str, float]:
        values = {
            "num_prompt_tokens": float(state.num_prompt_tokens),
            "num_train_instances": float(state.num_train_instances),
            "prompt_truncated": float(state.prompt_truncated),
        }
        result = state.result
        if result is None or not result.success or not result.completions:
            # No answer to score: the run reports the failure; correctness is not guessed.
            values["request_failed"] = 1.0
            return values
        prediction = result.completions[0].text
        golds = [reference.output for reference in state.instance.references if reference.is_correct]
        for name, match in CORRECTNESS.items():
            values[name] = max((match(gold, prediction) for gold in golds), default=0.0)
        values["num_completion_tokens"] = float(sum(len(completion.tokens) for completion in result.completions))
        if result.request_time is not None:
            values["inference_runtime"] = result.request_time
        values["cached"] = float(result.cached)
        values["request_failed"] = 0.0
        return values
