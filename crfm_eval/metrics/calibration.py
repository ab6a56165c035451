"""Calibration: does the model's confidence match how often it is right? (HELM's calibration stats)

Each multiple-choice instance gives `max_prob`, the probability of the chosen answer normalized
over the choices, and `exact_match`. Over the instances of a split:

- `ece_10_bin`: expected calibration error with 10 equal-mass bins: the predictions sorted by
  confidence are split into 10 groups of (nearly) equal size, the bin edges placed half way between
  neighbouring groups; ECE is the size-weighted mean of |mean confidence - accuracy| over the bins.
  `ece_1_bin` is the same with one bin (|mean confidence - accuracy|).
- `selective_acc@10`: the accuracy of the 10% most confident predictions (the first
  floor(n/10) + 1 of them), and `selective_cov_acc_area`, the mean accuracy over every coverage.

These are the definitions of the `uncertainty-calibration` package (Kumar et al., 2019) that HELM
calls (`get_ece_em`, `get_ece`, `get_selective_stats`), written here with numpy: that package is
unmaintained since 2022 and pulls scikit-learn in for Platt scaling, which is not reported here.
`reliability_bins` gives the same 10 bins to the leaderboard's reliability diagram.
"""

from dataclasses import dataclass

import numpy as np

from crfm_eval.metrics.metric import CALIBRATION, Metric, MetricInfo, derived_stat
from crfm_eval.states import RequestState, Stat

NUM_BINS = 10
COVERAGE = 0.1


@dataclass(frozen=True)
class ReliabilityBin:
    """One bin of a reliability diagram: how confident the model was, and how often it was right."""

    confidence: float
    accuracy: float
    count: int


def equal_mass_edges(probabilities: np.ndarray, num_bins: int) -> np.ndarray:
    """Upper bin edges (the last is 1.0) that split the sorted confidences into equal-size groups."""
    ordered = np.sort(probabilities)
    groups = np.array_split(ordered, min(num_bins, len(ordered)))
    edges = [(groups[i][-1] + groups[i + 1][0]) / 2.0 for i in range(len(groups) - 1)] + [1.0]
    return np.array(sorted(set(edges)))


def reliability_bins(
    probabilities: list[float], correct: list[float], num_bins: int = NUM_BINS
) -> list[ReliabilityBin]:
    """The non-empty equal-mass bins of (confidence, correctness) pairs, least confident first."""
    if not probabilities:
        return []
    p, c = np.asarray(probabilities, dtype=np.float64), np.asarray(correct, dtype=np.float64)
    edges = equal_mass_edges(p, num_bins)
    index = np.minimum(np.searchsorted(edges, p), len(edges) - 1)
    bins = []
    for b in range(len(edges)):
        members = index == b
        if members.any():
            bins.append(ReliabilityBin(float(p[members].mean()), float(c[members].mean()), int(members.sum())))
    return bins


def expected_calibration_error(probabilities: list[float], correct: list[float], num_bins: int) -> float:
    bins = reliability_bins(probabilities, correct, num_bins)
    total = sum(b.count for b in bins)
    return sum(b.count / total * abs(b.confidence - b.accuracy) for b in bins)


def selective_accuracy(probabilities: list[float], correct: list[float]) -> tuple[float, float]:
    """(area under the coverage-accuracy curve, accuracy at 10% coverage)."""
    order = np.argsort(-np.asarray(probabilities, dtype=np.float64))
    ranked = np.asarray(correct, dtype=np.float64)[order]
    accuracies = np.cumsum(ranked) / np.arange(1, len(ranked) + 1)
    return float(accuracies.mean()), float(accuracies[int(COVERAGE * len(ranked))])


def confidence_pairs(per_instance: list[dict[str, float]]) -> tuple[list[float], list[float]]:
    """(max_prob, exact_match) of the instances that have both."""
    pairs = [(v["max_prob"], v["exact_match"]) for v in per_instance if "max_prob" in v and "exact_match" in v]
    return [p for p, _ in pairs], [c for _, c in pairs]


class CalibrationMetric(Metric):
    """Derives the calibration stats from the `max_prob` another metric set gives each instance."""

    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        return {}

    def derive(self, split: str, per_instance: list[dict[str, float]]) -> list[Stat]:
        probabilities, correct = confidence_pairs(per_instance)
        if not probabilities:
            return []
        area, at_coverage = selective_accuracy(probabilities, correct)
        count = len(probabilities)
        return [
            derived_stat("ece_10_bin", split, expected_calibration_error(probabilities, correct, NUM_BINS), count),
            derived_stat("ece_1_bin", split, expected_calibration_error(probabilities, correct, 1), count),
            derived_stat("selective_acc@10", split, at_coverage, count),
            derived_stat("selective_cov_acc_area", split, area, count),
        ]

    def info(self) -> list[MetricInfo]:
        return [
            MetricInfo(
                "ece_10_bin",
                CALIBRATION,
                "ECE (10-bin)",
                "Mean gap between confidence and accuracy over 10 equal-mass bins (unreliable below ~300 instances).",
                lower_is_better=True,
            ),
            MetricInfo("ece_1_bin", CALIBRATION, "ECE (1-bin)", "|mean confidence - accuracy|.", lower_is_better=True),
            MetricInfo(
                "selective_acc@10",
                CALIBRATION,
                "Accuracy at 10% coverage",
                "Accuracy of the 10% most confident predictions.",
                lower_is_better=False,
            ),
            MetricInfo(
                "selective_cov_acc_area",
                CALIBRATION,
                "Selective accuracy area",
                "Area under the coverage-accuracy curve.",
                lower_is_better=False,
            ),
        ]
