"""Correctness of generated answers: exact, normalized (quasi) and prefix matches of the first
completion against the correct references, as in HELM, and exact_match@k when a request asks for
k > 1 completions (any of them right). For joint multiple choice the completion is a letter, read
through the request state's output mapping to the reference it names.
"""

from crfm_eval.metrics.efficiency import succeeded
from crfm_eval.metrics.metric import ACCURACY, Metric, MetricInfo
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


def answer_of(state: RequestState, text: str) -> str:
    """The answer a completion gives: its text, or for joint multiple choice the option its letter names."""
    if state.output_mapping is None:
        return text
    return state.output_mapping.get(text.strip(), text)


class MatchingMetric(Metric):
    def __init__(self) -> None:
        self._ks: set[int] = set()

    def is_proportion(self, name: str) -> bool:
        return name in CORRECTNESS or name.startswith("exact_match@")

    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        state = states[0]
        if not succeeded(states) or state.result is None or not state.result.completions:
            return {}
        golds = [reference.output for reference in state.instance.references if reference.is_correct]
        answers = [answer_of(state, completion.text) for completion in state.result.completions]
        values = {
            name: max((match(gold, answers[0]) for gold in golds), default=0.0) for name, match in CORRECTNESS.items()
        }
        if len(answers) > 1:
            self._ks.add(len(answers))
            values[f"exact_match@{len(answers)}"] = max(
                (exact_match(gold, answer) for gold in golds for answer in answers), default=0.0
            )
        return values

    def info(self) -> list[MetricInfo]:
        described = [
            MetricInfo("exact_match", ACCURACY, "Exact match", "The answer equals a correct reference.", False),
            MetricInfo("quasi_exact_match", ACCURACY, "Quasi-exact match", "Equal after normalization.", False),
            MetricInfo("prefix_exact_match", ACCURACY, "Prefix match", "The answer starts with a reference.", False),
            MetricInfo("quasi_prefix_exact_match", ACCURACY, "Quasi-prefix match", "Prefix, normalized.", False),
        ]
        return described + [
            MetricInfo(f"exact_match@{k}", ACCURACY, f"Exact match@{k}", f"Any of {k} completions is right.", False)
            for k in sorted(self._ks)
        ]
