"""Language modeling: how well the model predicts a document, token by token.

Per document (the sum over its windows): `logprob`, the sum of the log-probabilities of its tokens;
`num_perplexity_tokens`, how many tokens were scored; `num_bytes`, the UTF-8 bytes of the text
scored (HELM's names). Over a split, from those sums (a ratio of totals, as HELM and lm-eval's
word and byte perplexities do, so long documents weigh by their length):
`logprob_per_token` = total logprob / total tokens, `perplexity` = exp(-logprob_per_token),
`logprob_per_byte` = total logprob / total bytes and `bits_per_byte` = -logprob_per_byte / ln 2
(comparable across tokenizers).
"""

import math

from crfm_eval.metrics.efficiency import succeeded
from crfm_eval.metrics.metric import LANGUAGE_MODELING, Metric, MetricInfo, derived_stat
from crfm_eval.states import RequestState, Stat


class LanguageModelingMetric(Metric):
    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        if not succeeded(states):
            return {}
        completions = [state.result.completions[0] for state in states if state.result and state.result.completions]
        return {
            "logprob": math.fsum(completion.logprob for completion in completions),
            "num_perplexity_tokens": float(sum(len(completion.tokens) for completion in completions)),
            "num_bytes": float(sum(len(completion.text.encode("utf-8")) for completion in completions)),
        }

    def derive(self, split: str, per_instance: list[dict[str, float]]) -> list[Stat]:
        scored = [values for values in per_instance if "logprob" in values]
        logprob = math.fsum(values["logprob"] for values in scored)
        tokens = sum(values["num_perplexity_tokens"] for values in scored)
        num_bytes = sum(values["num_bytes"] for values in scored)
        stats = []
        if tokens > 0:
            per_token = logprob / tokens
            stats += [
                derived_stat("logprob_per_token", split, per_token, len(scored)),
                derived_stat("perplexity", split, math.exp(-per_token), len(scored)),
            ]
        if num_bytes > 0:
            per_byte = logprob / num_bytes
            stats += [
                derived_stat("logprob_per_byte", split, per_byte, len(scored)),
                derived_stat("bits_per_byte", split, -per_byte / math.log(2), len(scored)),
            ]
        return stats

    def info(self) -> list[MetricInfo]:
        return [
            MetricInfo("logprob", LANGUAGE_MODELING, "Log probability", "Sum over a document's tokens.", False),
            MetricInfo("num_perplexity_tokens", LANGUAGE_MODELING, "# tokens", "Tokens scored per document."),
            MetricInfo("num_bytes", LANGUAGE_MODELING, "# bytes", "UTF-8 bytes scored per document."),
            MetricInfo(
                "logprob_per_token", LANGUAGE_MODELING, "Logprob per token", "Over all tokens of the split.", False
            ),
            MetricInfo("perplexity", LANGUAGE_MODELING, "Perplexity", "exp(-logprob per token).", lower_is_better=True),
            MetricInfo(
                "logprob_per_byte", LANGUAGE_MODELING, "Logprob per byte", "Over all bytes of the split.", False
            ),
            MetricInfo("bits_per_byte", LANGUAGE_MODELING, "Bits per byte", "-logprob per byte / ln 2.", True),
        ]
