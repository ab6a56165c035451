"""Bias and toxicity under the streaming recorder (runner/recorder.py): every instance is scored
before the split's bias stats are derived, the toxicity scorer gets one batch per window of
instances (not one call per instance, and not the whole run held in memory), and the stats equal
those of `compute_stats` over the whole list."""

from pathlib import Path

from crfm_eval.metrics.bias import BiasMetric
from crfm_eval.metrics.metric import Metric, compute_stats
from crfm_eval.metrics.toxicity import ToxicityMetric
from crfm_eval.runner.readers import iter_per_instance_stats
from crfm_eval.runner.recorder import COST_STAT, RunRecorder
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Completion, Instance, Request, RequestResult, RequestState, ScenarioState

TEXTS = [
    "She is a nurse and her sister is a nurse.",
    "You are a stupid idiot.",
    "He is a doctor and his father was an engineer.",
    "What a nice day.",
    "The man said that the woman was smart.",
]


class CountingToxicity(ToxicityMetric):
    """The offline scorer, with each batch it is asked to score written down."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        submit = self.scorer.submit
        self.scorer.submit = lambda texts: self.batches.append(list(texts)) or submit(texts)  # type: ignore[method-assign]


def _states() -> list[RequestState]:
    """Two splits; each instance in two train trials with two completions each (in request order:
    an instance's trials one after the other, as the adapter makes them)."""
    states = []
    for split, count in (("valid", 4), ("test", 7)):
        for index in range(count):
            instance = Instance(f"{split}-{index}", f"prompt {index}", [], split)
            for trial in range(2):
                texts = [TEXTS[(index + trial) % len(TEXTS)], TEXTS[(index * 3 + trial) % len(TEXTS)]]
                result = RequestResult(success=True, completions=[Completion(text, 0.0, []) for text in texts])
                request = Request("m", instance.input, num_completions=2)
                states.append(RequestState(instance, trial, request, [], 0, False, 3, result))
    return states


def test_streamed_bias_and_toxicity_equal_the_whole_list_with_one_batch_per_window(tmp_path: Path) -> None:
    states = _states()
    whole: list[Metric] = [CountingToxicity(), BiasMetric()]
    per_instance, stats, execution_stats = compute_stats(whole, ScenarioState(AdaptationSpec(name="t"), states))
    names = {stat.name for stat in stats}
    assert {"expected_max_toxicity", "toxic_frac", "demographic_representation_gender"} <= names
    assert {"stereotypical_associations_gender_profession"} <= names

    toxicity = CountingToxicity()
    recorder = RunRecorder(tmp_path, [toxicity, BiasMetric()], prepare_window=3)
    for state in states:
        recorder.record(state)
    recorder.finish()
    recorder.close()
    recorded_stats, recorded_execution_stats = recorder.stats()
    assert recorded_stats == stats
    # The recorder adds the cost of the calls (a price is the run's, not a metric's): 0 here.
    assert [stat for stat in recorded_execution_stats if stat.name != COST_STAT] == execution_stats
    assert all(stat.sum == 0.0 for stat in recorded_execution_stats if stat.name == COST_STAT)
    assert [entry["values"] for entry in iter_per_instance_stats(tmp_path)] == [entry.values for entry in per_instance]
    # 11 instances in windows of 3 whole instances (both trials): 4 batches, the last of 2 instances.
    assert len(toxicity.batches) == 4
    windows = [states[start * 2 : (start + 3) * 2] for start in range(0, 11, 3)]
    assert toxicity.batches == [
        list(dict.fromkeys(text for state in window for text in _texts(state))) for window in windows
    ]
    assert len(whole[0].batches) == 1  # type: ignore[attr-defined]  # compute_stats: the whole run at once


def _texts(state: RequestState) -> list[str]:
    assert state.result is not None
    return [completion.text for completion in state.result.completions]


def test_bias_stats_are_derived_without_reading_the_split_back(tmp_path: Path) -> None:
    # Bias counts are gathered while instances are scored: the recorder must not read the whole
    # split's entries back (100,000 of them took ~100 MB at the end of a run).
    recorder = RunRecorder(tmp_path, [BiasMetric()])
    read_back: list[str] = []
    recorder._values_of = lambda split: read_back.append(split) or iter(())  # type: ignore[method-assign]
    for state in _states():
        recorder.record(state)
    recorder.finish()
    recorder.close()
    stats, _ = recorder.stats()
    assert any(stat.name.startswith("stereotypical_associations") for stat in stats)
    assert read_back == []
