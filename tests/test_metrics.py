"""Text matching, statistics against textbook values, and aggregation over trials and splits."""

import math

import pytest

from crfm_eval.metrics.efficiency import EfficiencyMetric
from crfm_eval.metrics.matching import MatchingMetric
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.metrics.statistics import summarize
from crfm_eval.metrics.text_matching import (
    exact_match,
    normalize_text,
    prefix_exact_match,
    quasi_exact_match,
    quasi_prefix_exact_match,
)
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Completion, Instance, Reference, Request, RequestResult, RequestState, ScenarioState, Token


@pytest.mark.parametrize(
    "prediction, expected",
    [
        (" Yes", (1, 1, 1, 1)),
        ("yes.", (0, 1, 0, 1)),
        (" Yes, because", (0, 0, 1, 1)),
        (" The yes", (0, 1, 0, 1)),
        (" No", (0, 0, 0, 0)),
        ("", (0, 0, 0, 0)),
    ],
)
def test_match_variants(prediction, expected):
    matches = (exact_match, quasi_exact_match, prefix_exact_match, quasi_prefix_exact_match)
    assert tuple(match("Yes", prediction) for match in matches) == expected


def test_normalize_text():
    assert normalize_text("  The  Cat, an apple!") == "cat apple"


def test_wilson_interval_for_a_proportion():
    stat = summarize("exact_match", "valid", [1.0] * 8 + [0.0] * 2, proportion=True)
    assert (stat.count, stat.sum, stat.mean, stat.min, stat.max) == (10, 8.0, 0.8, 0.0, 1.0)
    # Wilson score interval for 8/10 at 95% (z = 1.959964): [0.4902, 0.9433].
    assert stat.ci_low == pytest.approx(0.49016, abs=1e-4) and stat.ci_high == pytest.approx(0.94332, abs=1e-4)
    perfect = summarize("exact_match", "valid", [1.0] * 20, proportion=True)
    assert perfect.ci_high == pytest.approx(1.0) and perfect.ci_low == pytest.approx(0.83887, abs=1e-4)


def test_t_interval_for_other_values():
    stat = summarize("num_prompt_tokens", "valid", [1.0, 2.0, 3.0, 4.0])
    assert stat.stddev == pytest.approx(math.sqrt(5 / 3))
    half_width = 3.182446305 * math.sqrt(5 / 3) / 2  # t(0.975, df=3) * s / sqrt(n)
    assert (stat.ci_low, stat.ci_high) == (pytest.approx(2.5 - half_width), pytest.approx(2.5 + half_width))
    constant = summarize("num_train_instances", "valid", [5.0] * 3)
    assert (constant.ci_low, constant.ci_high, constant.stddev) == (5.0, 5.0, 0.0)
    single = summarize("x", "valid", [2.0])
    assert (single.stddev, single.ci_low, single.ci_high) == (None, None, None)


def _state(instance_id: str, split: str, trial: int, text: str | None, cached: bool = False) -> RequestState:
    instance = Instance(instance_id, "q", [Reference("Yes", ["correct"]), Reference("No")], split)
    result = (
        RequestResult(True, [Completion(text, 0.0, [Token(text, 0.0)])], cached=cached, request_time=0.5)
        if text is not None
        else RequestResult(False, error="boom")
    )
    return RequestState(instance, trial, Request("m", "q"), [], 5, False, 100, result)


def test_values_are_averaged_over_trials_then_over_instances_per_split():
    states = [
        _state("valid-0", "valid", 0, " Yes"),
        _state("valid-0", "valid", 1, " No"),
        _state("valid-1", "valid", 0, " Yes", cached=True),
        _state("valid-1", "valid", 1, " Yes", cached=True),
        _state("test-0", "test", 0, " No"),
        _state("test-0", "test", 1, None),
    ]
    per_instance, stats, execution = compute_stats(
        [EfficiencyMetric(), MatchingMetric()], ScenarioState(AdaptationSpec(name="x"), states)
    )
    assert len(per_instance) == 6
    exact = {(s.split, s.name): s for s in stats}
    assert exact[("valid", "exact_match")].count == 2 and exact[("valid", "exact_match")].mean == 0.75
    assert exact[("test", "exact_match")].count == 1 and exact[("test", "exact_match")].mean == 0.0
    assert ("valid", "cached") not in exact and all("cached" not in p.values for p in per_instance)
    by_name = {(s.split, s.name): s for s in execution}
    assert by_name[("valid", "cached")].mean == 0.5 and by_name[("test", "request_failed")].mean == 0.5


def test_expected_calibration_error_with_equal_mass_bins():
    from crfm_eval.metrics.calibration import expected_calibration_error, reliability_bins

    # 20 predictions, two at each confidence 0.1 ... 1.0, one right and one wrong: 10 equal-mass bins
    # of two, each with accuracy 0.5, so ECE = mean |k/10 - 0.5| = (0.4+0.3+0.2+0.1+0+0.1+...+0.5)/10.
    probabilities = [k / 10 for k in range(1, 11) for _ in range(2)]
    correct = [1.0, 0.0] * 10
    bins = reliability_bins(probabilities, correct)
    assert [(round(b.confidence, 9), b.accuracy, b.count) for b in bins] == [(k / 10, 0.5, 2) for k in range(1, 11)]
    assert expected_calibration_error(probabilities, correct, 10) == pytest.approx(0.25)
    assert expected_calibration_error(probabilities, correct, 1) == pytest.approx(0.05)  # |0.55 - 0.5|


def test_selective_accuracy_and_the_derived_calibration_stats():
    from crfm_eval.metrics.calibration import CalibrationMetric

    # The three most confident of 20 (the first floor(20/10) + 1, as HELM counts) are right, right, wrong.
    per_instance = [{"max_prob": 1 - i / 40, "exact_match": float(i in (0, 1, 5, 6))} for i in range(20)]
    per_instance.append({"exact_match": 1.0})  # no confidence (e.g. a generation instance): left out
    stats = {s.name: s for s in CalibrationMetric().derive("valid", per_instance)}
    assert stats["selective_acc@10"].mean == pytest.approx(2 / 3)
    accuracies = [1, 1, 2 / 3, 2 / 4, 2 / 5, 3 / 6, 4 / 7] + [4 / n for n in range(8, 21)]
    assert stats["selective_cov_acc_area"].mean == pytest.approx(sum(accuracies) / 20)
    assert stats["ece_10_bin"].count == 20 and stats["ece_10_bin"].ci_low is None
    assert CalibrationMetric().derive("valid", [{"exact_match": 1.0}]) == []
