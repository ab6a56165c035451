"""Multiple choice: which option the model chose, how sure it was, and where the right one ranked.

Separate methods (`MultipleChoiceMetric`): each reference's score is the sum of its continuation's
token log-probabilities (minus the same after the neutral context, for the calibrated method); the
prediction is the highest score (the first on a tie, like lm-eval's argmax).
- `exact_match`: the prediction is a correct reference (lm-eval's `acc`).
- `acc_norm`: the argmax of log-probability per UTF-8 byte of the reference text (lm-eval's
  `acc_norm`, which divides by the choice's length in characters: the same for ASCII choices).
- `acc_norm_per_token`: the argmax of log-probability per continuation token (HELM's score for
  `multiple_choice_separate_original`).
- `exact_match@k`: a correct reference is among the k best scores.
- `max_prob`: the chosen option's probability, softmax of the scores over the options (HELM's
  `max_prob`), which the calibration stats use.

Joint method (`JointChoiceMetric`): the option letters among the first generated token's top-k
alternatives (ask `top_k_per_token` >= the number of options) rank the options; `max_prob` is the
chosen letter's probability normalized over the letters listed there, and `exact_match@k` counts
a correct option within the chosen letter and the next most likely letters.
"""

import math
from dataclasses import dataclass
from typing import Optional, Sequence

from crfm_eval.metrics.efficiency import succeeded
from crfm_eval.metrics.metric import ACCURACY, CALIBRATION, Metric, MetricInfo
from crfm_eval.states import Completion, RequestState

CALIBRATION_MODE = "calibration"


def argmax(scores: Sequence[float]) -> int:
    """The index of the highest score; the first one on a tie."""
    return max(range(len(scores)), key=lambda index: (scores[index], -index))


def softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    weights = [math.exp(score - top) for score in scores]
    total = sum(weights)
    return [weight / total for weight in weights]


def within_top(scores: Sequence[float], correct: Sequence[bool], k: int) -> float:
    ranked = sorted(range(len(scores)), key=lambda index: (-scores[index], index))
    return float(any(correct[index] for index in ranked[:k]))


def _ks_info(ks: Sequence[int]) -> list[MetricInfo]:
    return [
        MetricInfo(f"exact_match@{k}", ACCURACY, f"Exact match@{k}", f"A correct option is among the {k} best.", False)
        for k in ks
    ]


MAX_PROB_INFO = MetricInfo(
    "max_prob", CALIBRATION, "Max prob", "The chosen option's probability, normalized over the options."
)


@dataclass(frozen=True)
class OptionScores:
    """What a separate method's requests say about one instance's options."""

    logprobs: list[float]
    """Each option's continuation log-probability after the prompt."""
    scores: list[float]
    """What ranks the options: `logprobs`, minus the neutral context's for the calibrated method."""
    num_tokens: list[int]


def option_scores(states: list[RequestState]) -> Optional[OptionScores]:
    """The options' scores from the request states of one instance (separate methods), or None when
    a request failed or an option has no original request."""
    if not succeeded(states):
        return None
    references = states[0].instance.references
    original: dict[int, Completion] = {}
    calibration: dict[int, Completion] = {}
    for state in states:
        if state.reference_index is not None and state.result and state.result.completions:
            target = calibration if state.request_mode == CALIBRATION_MODE else original
            target[state.reference_index] = state.result.completions[0]
    if not references or sorted(original) != list(range(len(references))):
        return None
    logprobs = [original[index].logprob for index in range(len(references))]
    scores = logprobs
    if calibration:
        scores = [logprobs[index] - calibration[index].logprob for index in range(len(references))]
    return OptionScores(logprobs, scores, [len(original[index].tokens) for index in range(len(references))])


def chosen_option(states: list[RequestState]) -> Optional[int]:
    """The index (in `states[0].instance.references`) of the option the model chose, for every
    multiple-choice method: the letter it wrote (joint) or the best score (separate); None when it
    chose nothing readable. For metrics that need the choice itself (e.g. BBQ's bias scores)."""
    state = states[0]
    if state.output_mapping is not None:
        if not succeeded(states) or state.result is None or not state.result.completions:
            return None
        answer = state.output_mapping.get(state.result.completions[0].text.strip())
        outputs = [reference.output for reference in state.instance.references]
        return outputs.index(answer) if answer in outputs else None
    found = option_scores(states)
    return None if found is None else argmax(found.scores)


class MultipleChoiceMetric(Metric):
    def __init__(self, ks: Sequence[int] = (2,)) -> None:
        """`ks`: the k of each exact_match@k (a correct option among the k best scores)."""
        self.ks = tuple(ks)
        self.proportions = frozenset({"exact_match", "acc_norm", "acc_norm_per_token", *self.at_k_names})

    @property
    def at_k_names(self) -> list[str]:
        return [f"exact_match@{k}" for k in self.ks]

    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        found = option_scores(states)
        if found is None:
            return {}
        references = states[0].instance.references
        logprobs, scores = found.logprobs, found.scores
        correct = [reference.is_correct for reference in references]
        per_byte = [lp / max(1, len(ref.output.encode("utf-8"))) for lp, ref in zip(logprobs, references, strict=True)]
        per_token = [lp / max(1, n) for lp, n in zip(logprobs, found.num_tokens, strict=True)]
        chosen = argmax(scores)
        values = {
            "exact_match": float(correct[chosen]),
            "acc_norm": float(correct[argmax(per_byte)]),
            "acc_norm_per_token": float(correct[argmax(per_token)]),
            "max_prob": softmax(scores)[chosen],
        }
        values.update({name: within_top(scores, correct, k) for name, k in zip(self.at_k_names, self.ks, strict=True)})
        return values

    def info(self) -> list[MetricInfo]:
        return [
            MetricInfo("exact_match", ACCURACY, "Exact match", "The highest-scoring option is correct.", False),
            MetricInfo("acc_norm", ACCURACY, "Acc (per byte)", "Correct by log-probability per byte.", False),
            MetricInfo("acc_norm_per_token", ACCURACY, "Acc (per token)", "Correct by log-prob per token.", False),
            MAX_PROB_INFO,
            *_ks_info(self.ks),
        ]


class JointChoiceMetric(Metric):
    def __init__(self, ks: Sequence[int] = (2,)) -> None:
        self.ks = tuple(ks)
        self.proportions = frozenset(f"exact_match@{k}" for k in self.ks)

    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        state = states[0]
        if not succeeded(states) or state.output_mapping is None or state.result is None:
            return {}
        completion = state.result.completions[0] if state.result.completions else None
        letter_logprobs = _letter_logprobs(completion, state.output_mapping)
        chosen = completion.text.strip() if completion else ""
        if chosen not in letter_logprobs:
            return {}
        letters = sorted(letter_logprobs, key=lambda letter: (letter != chosen, -letter_logprobs[letter], letter))
        probabilities = softmax([letter_logprobs[letter] for letter in letters])
        golds = {reference.output for reference in state.instance.references if reference.is_correct}
        correct = [state.output_mapping[letter] in golds for letter in letters]
        values = {"max_prob": probabilities[0]}
        for k in self.ks:
            values[f"exact_match@{k}"] = float(any(correct[:k]))
        return values

    def info(self) -> list[MetricInfo]:
        return [MAX_PROB_INFO, *_ks_info(self.ks)]


def _letter_logprobs(completion: Optional[Completion], mapping: dict[str, str]) -> dict[str, float]:
    """Option letter -> its log-probability as the first generated token (from its top-k alternatives)."""
    if completion is None or not completion.tokens:
        return {}
    first = completion.tokens[0]
    found: dict[str, float] = {}
    for text, logprob in [*first.top_logprobs.items(), (first.text, first.logprob)]:
        letter = text.strip()
        if letter in mapping:
            found[letter] = max(logprob, found.get(letter, -math.inf))
    return found
