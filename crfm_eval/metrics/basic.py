"""The basic metrics: correctness of the first completion against the correct references, plus
token counts, runtime and how the prompt was built."""

from crfm_eval.metrics.metadata import ACCURACY, EFFICIENCY, GENERAL_INFORMATION, MetricMetadata
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

CORRECTNESS_DESCRIPTIONS = {
    "exact_match": ("Exact match", "EM", "1 when the first completion equals a correct reference exactly."),
    "quasi_exact_match": (
        "Quasi-exact match",
        "QEM",
        "1 when the first completion equals a correct reference after lower-casing and removing punctuation, "
        "articles and extra whitespace.",
    ),
    "prefix_exact_match": ("Prefix exact match", "PEM", "1 when the first completion starts with a correct reference."),
    "quasi_prefix_exact_match": (
        "Quasi-prefix exact match",
        "QPEM",
        "1 when the normalized first completion starts with a normalized correct reference.",
    ),
}


class BasicMetric(Metric):
    execution_dependent = frozenset({"cached", "request_failed"})
    proportions = frozenset({*CORRECTNESS, "prompt_truncated", "cached", "request_failed"})

    def get_metadata(self) -> list[MetricMetadata]:
        correctness = [
            MetricMetadata(name, display, short, description, lower_is_better=False, group=ACCURACY)
            for name, (display, short, description) in CORRECTNESS_DESCRIPTIONS.items()
        ]
        return [
            *correctness,
            MetricMetadata(
                "inference_runtime",
                "Inference runtime (s)",
                "Runtime (s)",
                "Seconds the model took to answer a request (for a cached answer, the original call's time).",
                lower_is_better=True,
                group=EFFICIENCY,
            ),
            MetricMetadata(
                "num_prompt_tokens",
                "Prompt tokens",
                "# prompt tokens",
                "Tokens in the prompt sent, by the model's tokenizer.",
                group=GENERAL_INFORMATION,
            ),
            MetricMetadata(
                "num_completion_tokens",
                "Completion tokens",
                "# output tokens",
                "Tokens in the completions, summed over the completions of a request.",
                group=GENERAL_INFORMATION,
            ),
            MetricMetadata(
                "num_train_instances",
                "In-context examples",
                "# train",
                "In-context examples that fitted in the prompt.",
                group=GENERAL_INFORMATION,
            ),
            MetricMetadata(
                "prompt_truncated",
                "Prompt truncated",
                "truncated",
                "1 when the eval instance's own text had to be cut to fit the context window.",
                lower_is_better=True,
                group=GENERAL_INFORMATION,
            ),
            MetricMetadata(
                "cached",
                "Served from the cache",
                "cached",
                "1 when the answer came from the cache rather than the model (describes this execution).",
                group=GENERAL_INFORMATION,
            ),
            MetricMetadata(
                "request_failed",
                "Request failed",
                "failed",
                "1 when the request got no answer (describes this execution).",
                lower_is_better=True,
                group=GENERAL_INFORMATION,
            ),
        ]

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
