"""Stats of shards merge into the stats of one run: sum_squared and variance in every Stat."""

import dataclasses
import math
import random
import statistics

import pytest

from crfm_eval.adaptation.generation import GenerationAdapter
from crfm_eval.errors import UserError
from crfm_eval.execution.executor import Executor
from crfm_eval.metrics.breakdowns import breakdown_stats
from crfm_eval.metrics.efficiency import EfficiencyMetric
from crfm_eval.metrics.matching import MatchingMetric
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.metrics.statistics import merge_stat_lists, merge_stats, summarize
from crfm_eval.models.service import LocalService
from crfm_eval.scenarios.boolq import BoolQScenario
from crfm_eval.specs import AdaptationSpec, ExecutionSpec, ModelSpec
from crfm_eval.states import PerInstanceStats, ScenarioState

SIMPLE = ModelSpec(name="simple/deterministic", client="crfm_eval.models.clients.simple.SimpleClient")
PROPORTIONS = frozenset({"exact_match"}).__contains__
TWO_TRIALS = AdaptationSpec(
    name="5shot", input_prefix="Passage: ", output_prefix="Answer: ", stop_sequences=["\n"], num_train_trials=2
)


def _shards(items: list, sizes: list[int], seed: int) -> list[list]:
    shuffled = random.Random(seed).sample(items, len(items))
    bounds = [sum(sizes[:k]) for k in range(len(sizes) + 1)]
    return [shuffled[start:end] for start, end in zip(bounds, bounds[1:], strict=False)]


def test_variance_and_sum_squared_agree_with_textbook_values():
    stat = summarize("x", "valid", [1.0, 2.0, 3.0, 4.0])
    assert stat.sum_squared == 30.0
    assert stat.variance == pytest.approx(statistics.variance([1, 2, 3, 4])) and stat.stddev == math.sqrt(stat.variance)
    assert summarize("x", "valid", [7.0]).variance is None


def test_merged_boolq_values_equal_one_pass_exactly(shared_data):
    dev = [i for i in BoolQScenario().get_instances(shared_data) if i.split == "valid"]
    lengths = [float(len(instance.input.split())) for instance in dev]
    answers = [float(instance.first_correct_reference.output == "Yes") for instance in dev]
    for values, proportion in ((lengths, False), (answers, True)):
        whole = summarize("v", "valid", values, proportion)
        shards = _shards(values, [1000, 7, 2263], seed=3)
        merged = merge_stats([summarize("v", "valid", shard, proportion) for shard in shards], proportion)
        assert merged == whole  # every field, bit for bit
    assert whole.mean == pytest.approx(2033 / 3270) and whole.sum == whole.sum_squared == 2033.0


def test_merged_real_valued_stats_agree_to_rounding():
    rng = random.Random(5)
    values = [rng.lognormvariate(-3, 1) for _ in range(5000)]
    whole = summarize("inference_runtime", "valid", values)
    merged = merge_stats([summarize("inference_runtime", "valid", s) for s in _shards(values, [1, 2499, 2500], 1)])
    assert (merged.count, merged.min, merged.max) == (whole.count, whole.min, whole.max)
    for field in ("sum", "sum_squared", "mean", "variance", "stddev", "ci_low", "ci_high"):
        assert getattr(merged, field) == pytest.approx(getattr(whole, field), rel=1e-14)


def test_a_run_split_by_instances_merges_into_the_whole_run(shared_data, tmp_path):
    """The real pipeline on BoolQ (two train trials): stats of instance shards merged = the run's stats."""
    instances = BoolQScenario().get_instances(shared_data)
    service = LocalService([SIMPLE], tmp_path / "cache")
    try:
        state = GenerationAdapter(TWO_TRIALS, SIMPLE, service, 0).adapt(instances, 60)
        state = Executor(ExecutionSpec(name="local", cache_dir=str(tmp_path), progress=False), service).execute_all(
            state
        )
    finally:
        service.close()
    metrics = [EfficiencyMetric(), MatchingMetric()]
    _, whole, _ = compute_stats(metrics, state)
    ids = sorted({s.instance.id for s in state.request_states})
    shard_stats = []
    for shard_ids in _shards(ids, [13, 20, 27], seed=9):
        shard = ScenarioState(state.adaptation_spec, [s for s in state.request_states if s.instance.id in shard_ids])
        shard_stats.append(compute_stats(metrics, shard)[1])
    merged = merge_stat_lists(shard_stats, lambda name: any(m.is_proportion(name) for m in metrics))
    assert [(s.split, s.name) for s in merged] == [(s.split, s.name) for s in whole]
    for merged_stat, whole_stat in zip(merged, whole, strict=True):
        if whole_stat.name == "inference_runtime":  # real-valued: equal up to rounding
            assert merged_stat.mean == pytest.approx(whole_stat.mean, rel=1e-12)
        else:
            assert merged_stat == whole_stat, whole_stat.name
    exact = next(s for s in merged if s.name == "exact_match")
    assert exact.count == 60 and 0 <= exact.ci_low <= exact.mean <= exact.ci_high <= 1


def test_a_stat_of_the_whole_split_cannot_be_merged():
    derived = dataclasses.replace(summarize("perplexity", "valid", [3.0, 4.0]), sum_squared=None)
    with pytest.raises(UserError, match="perplexity .valid. has no sum_squared"):
        merge_stats([derived, derived])
    with pytest.raises(ValueError):
        merge_stats([summarize("a", "valid", [1.0]), summarize("b", "valid", [1.0])])


def test_empty_shards_change_nothing():
    values = [0.0, 1.0, 1.0]
    whole = summarize("exact_match", "valid", values, proportion=True)
    empty = summarize("exact_match", "valid", [], proportion=True)
    assert merge_stats([empty, whole, empty], proportion=True) == whole
    assert math.isclose(whole.variance, 1 / 3)


def test_sub_split_stats_merge_and_the_macro_average_is_computed_again():
    """MMLU-like: two subjects, shards that cut across them. Each subject's stat merges like any
    other; the macro average (a mean of subject means, not a sum over instances) is recomputed."""
    answers = {"a": [1.0, 1.0, 1.0, 0.0, 1.0, 0.0], "b": [0.0, 1.0, 0.0]}
    entries = [
        PerInstanceStats(f"{subject}{i}", "test", 0, {"exact_match": value}, sub_split=subject)
        for subject, values in answers.items()
        for i, value in enumerate(values)
    ]
    whole = breakdown_stats(entries, PROPORTIONS)
    shards = [breakdown_stats(shard, PROPORTIONS) for shard in _shards(entries, [2, 3, 4], seed=3)]
    merged = merge_stat_lists(shards, PROPORTIONS)
    assert {(s.sub_split, s.count, s.mean) for s in merged} == {
        ("a", 6, 4 / 6),
        ("b", 3, 1 / 3),
        ("macro_average", 2, (4 / 6 + 1 / 3) / 2),
    }
    assert sorted(merged, key=lambda s: str(s.sub_split)) == sorted(whole, key=lambda s: str(s.sub_split))
