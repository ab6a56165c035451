"""What asking cost and how the prompt was built: every method's metric set.

Per eval instance: the tokens of its prompt (its first request's), the tokens generated, the model
time over all its requests, how many requests it took, and the prompt fitting (in-context examples
kept, input truncated). Whether the requests came from the cache and whether one failed describe
this execution, not the model, and go to execution_stats.json.
"""

from crfm_eval.metrics.metric import EFFICIENCY, GENERAL, Metric, MetricInfo
from crfm_eval.states import RequestState


def succeeded(states: list[RequestState]) -> bool:
    """Every request of the instance has an answer to score."""
    return all(state.result is not None and state.result.success for state in states)


class EfficiencyMetric(Metric):
    execution_dependent = frozenset({"cached", "request_failed"})
    proportions = frozenset({"prompt_truncated", "request_failed"})

    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        first = states[0]
        values = {
            "num_prompt_tokens": float(first.num_prompt_tokens),
            "num_train_instances": float(first.num_train_instances),
            "prompt_truncated": float(any(state.prompt_truncated for state in states)),
        }
        if not succeeded(states):
            # No answer to score: the run reports the failure; nothing else is guessed.
            values["request_failed"] = 1.0
            return values
        results = [state.result for state in states if state.result is not None]
        generating = [state.result for state in states if state.result and not state.request.is_log_likelihood]
        if generating:
            values["num_completion_tokens"] = float(
                sum(len(completion.tokens) for result in generating for completion in result.completions)
            )
        times = [result.request_time for result in results if result.request_time is not None]
        if times:
            values["inference_runtime"] = sum(times)
        if len(states) > 1:
            values["num_requests"] = float(len(states))
        values["cached"] = sum(result.cached for result in results) / len(results)
        values["request_failed"] = 0.0
        return values

    def info(self) -> list[MetricInfo]:
        return [
            MetricInfo(
                "num_prompt_tokens", EFFICIENCY, "# prompt tokens", "Tokens of the prompt (its first request's)."
            ),
            MetricInfo("num_completion_tokens", EFFICIENCY, "# output tokens", "Tokens generated per instance."),
            MetricInfo(
                "inference_runtime",
                EFFICIENCY,
                "Inference time (s)",
                "Model time per instance over all its requests (for a cached result, that of the original call).",
                lower_is_better=True,
            ),
            MetricInfo("num_requests", EFFICIENCY, "# requests", "Requests per instance (separate methods, windows)."),
            MetricInfo("cached", EFFICIENCY, "Cached", "Fraction of the requests served from the cache."),
            MetricInfo("request_failed", EFFICIENCY, "Failed", "Fraction of instances with a failed request."),
            MetricInfo("num_train_instances", GENERAL, "# in-context examples", "In-context examples in the prompt."),
            MetricInfo(
                "prompt_truncated",
                GENERAL,
                "Truncated",
                "Fraction of instances whose input was cut to fit the context.",
            ),
        ]
