"""Streaming keeps what the whole-list path does for scenarios with parts (issue 11) and for metrics
that must see the whole run first (a `prepare` hook): the lazy plan chooses the same eval subsample
and in-context examples as `downsample` and `in_context_examples`, and the recorder's stats, parts
included, equal `compute_stats` over the whole list in memory."""

from collections.abc import Iterator

from crfm_eval.adaptation.few_shot import downsample, in_context_examples
from crfm_eval.adaptation.methods import create_adapter
from crfm_eval.execution.executor import Executor
from crfm_eval.metrics.efficiency import EfficiencyMetric
from crfm_eval.metrics.matching import MatchingMetric
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.models.service import LocalService
from crfm_eval.runner.readers import iter_per_instance_stats
from crfm_eval.runner.recorder import COST_STAT, FIRST_PREPARE_WINDOW, RunRecorder
from crfm_eval.specs import AdaptationSpec, ExecutionSpec, ModelSpec
from crfm_eval.states import CONSISTENCY, CORRECT_TAG, MACRO_AVERAGE, Instance, Reference, RequestState

SUBJECTS = ("abstract_algebra", "anatomy", "astronomy")


def _item(instance_id: str, split: str, sub_split=None, contrast_set=None, answer="Yes") -> Instance:
    return Instance(
        instance_id, f"input of {instance_id}", [Reference(answer, [CORRECT_TAG])], split, sub_split, contrast_set
    )


def _instances() -> list[Instance]:
    """Three subjects (the last without train instances of its own, so it draws from the whole pool),
    a few loose train instances, and contrast sets (an original and two perturbations each)."""
    instances = [_item(f"{s}-dev{i}", "train", s, answer=f"{s}{i % 2}") for s in SUBJECTS[:2] for i in range(6)]
    instances += [_item(f"loose{i}", "train", answer="No" if i % 3 else "Yes") for i in range(5)]
    for subject in SUBJECTS:
        instances += [_item(f"{subject}-{i}", "test", subject, answer="Yes" if i % 3 else "No") for i in range(9)]
    for index in range(7):
        instances.append(_item(f"o{index}", "test", "original", f"o{index}", answer="Yes" if index % 2 else "No"))
        instances += [_item(f"o{index}-p{k}", "test", "perturbed", f"o{index}", answer="No") for k in range(2)]
    return instances


class Stream:
    """A scenario that reads its data again each time it is gone through (as a large file would be)."""

    def __init__(self, instances: list[Instance]) -> None:
        self.instances, self.passes = instances, 0

    def __iter__(self) -> Iterator[Instance]:
        self.passes += 1
        return iter(list(self.instances))


def _service(tmp_path) -> LocalService:
    return LocalService([ModelSpec(name="simple", client="crfm_eval.models.clients.simple.SimpleClient")], tmp_path)


def _spec(**changes) -> AdaptationSpec:
    return AdaptationSpec(
        name="x",
        instructions="Questions about {sub_split}.",
        input_prefix="Q: ",
        output_prefix="A: ",
        max_train_instances=3,
        num_train_trials=2,
        eval_splits=["test"],
        **changes,
    )


def test_the_lazy_plan_chooses_the_subsample_and_examples_of_the_whole_list_path(tmp_path):
    instances = _instances()
    service = _service(tmp_path)
    adapter = create_adapter(_spec(), service.model_specs[0], service, seed=5)
    stream = Stream(instances)
    plan = adapter.plan(stream, max_eval_instances=4)
    states = list(plan.request_states)
    service.close()

    evals = [instance for instance in instances if instance.split == "test"]
    expected = downsample(evals, 4, seed=5)
    # Each subject capped at 4, the contrast sets drawn whole (4 sets of 3 questions).
    assert len(expected) == 3 * 4 + 4 * 3 and plan.num_eval_instances == len(expected)
    assert plan.num_requests == len(states) == len(expected) * 2
    # Instance by instance, with both train trials of an instance together.
    assert [(s.instance.id, s.train_trial_index) for s in states] == [(i.id, t) for i in expected for t in (0, 1)]
    pool = [i for i in instances if i.split == "train"]
    for trial in (0, 1):
        examples = in_context_examples(pool, expected, 3, seed=5, trial=trial)
        for state in states:
            if state.train_trial_index == trial:
                assert state.train_instance_ids == [e.id for e in examples[state.instance.sub_split]]
    by_subject = {s.instance.sub_split: s for s in states}
    assert by_subject["abstract_algebra"].request.prompt.startswith("Questions about abstract algebra.\n")
    assert set(by_subject["anatomy"].train_instance_ids) <= {f"anatomy-dev{i}" for i in range(6)}
    assert stream.passes <= 3  # the stream is read again, never held whole


def test_running_stats_with_parts_and_a_prepare_hook_equal_the_stats_of_the_whole_list(tmp_path):
    """Sub-split, macro-average and consistency stats from the streamed file; a metric with a
    `prepare` hook sees every state of a window before any of its instances is scored, windows
    growing from FIRST_PREPARE_WINDOW instances, and every instance is scored (before its split
    stats are derived)."""
    service = _service(tmp_path / "cache")
    adapter = create_adapter(_spec(), service.model_specs[0], service, seed=1)
    execution = ExecutionSpec(name="local", num_threads=2, cache_dir=str(tmp_path), progress=False)
    executed = Executor(execution, service).execute_all(adapter.adapt(_instances(), None))
    service.close()
    expected = compute_stats([EfficiencyMetric(), MatchingMetric()], executed)
    parts = {(stat.sub_split, stat.name) for stat in expected[1]}
    assert {("anatomy", "exact_match"), (MACRO_AVERAGE, "exact_match"), (CONSISTENCY, "exact_match")} <= parts

    calls: list[str] = []

    class PreparedMatching(MatchingMetric):
        def prepare(self, states: list[RequestState]) -> None:
            calls.append(f"prepare {len(states)}")

        def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
            calls.append("evaluate")
            return super().evaluate_instance(states)

    for metrics in ([EfficiencyMetric(), MatchingMetric()], [EfficiencyMetric(), PreparedMatching()]):
        run_dir = tmp_path / type(metrics[1]).__name__
        run_dir.mkdir()
        recorder = RunRecorder(run_dir, metrics)
        for state in executed.request_states:
            recorder.record(state)
        recorder.finish()
        recorder.close()
        stats, execution_stats = recorder.stats()
        assert stats == expected[1]
        # The recorder adds the cost of the calls (a price is the run's, not a metric's): 0 here.
        assert [stat for stat in execution_stats if stat.name != COST_STAT] == expected[2]
        assert next(stat for stat in execution_stats if stat.name == COST_STAT).sum == 0.0
        entries = list(iter_per_instance_stats(run_dir))
        assert [(e["instance_id"], e["sub_split"], e["contrast_set"]) for e in entries] == [
            (e.instance_id, e.sub_split, e.contrast_set) for e in expected[0]
        ]
    # Windows of 16, 32, 64... whole instances; each is prepared before any of its instances is
    # scored (at once: this `prepare` returns nothing to wait for). One state per (instance, trial).
    instance_ids = list(dict.fromkeys(state.instance.id for state in executed.request_states))
    windows, start, size = [], 0, FIRST_PREPARE_WINDOW
    while start < len(instance_ids):
        chosen = set(instance_ids[start : start + size])
        windows.append(sum(state.instance.id in chosen for state in executed.request_states))
        start, size = start + size, 2 * size
    assert len(windows) >= 2
    expected_calls = []
    for window in windows:
        expected_calls += [f"prepare {window}"] + ["evaluate"] * window
    assert calls == expected_calls
