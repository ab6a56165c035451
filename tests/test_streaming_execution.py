"""The streaming path of a run: the executor hands results back in request order while holding only
a bounded window, and the running stats equal the stats of the whole list."""

import dataclasses
import hashlib
import time

from crfm_eval.adaptation.methods import create_adapter
from crfm_eval.execution.executor import WINDOW_PER_THREAD, Executor
from crfm_eval.metrics.calibration import CalibrationMetric
from crfm_eval.metrics.efficiency import EfficiencyMetric
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.metrics.multiple_choice import MultipleChoiceMetric
from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.models.service import LocalService
from crfm_eval.runner.readers import iter_per_instance_stats
from crfm_eval.runner.recorder import COST_STAT, RunRecorder
from crfm_eval.specs import AdaptationSpec, ExecutionSpec, ModelSpec
from crfm_eval.states import Instance, Reference, Request, RequestResult, RequestState

THREADS = 4


class UnevenLatencyClient(SimpleClient):
    """The simple model, answering each prompt after its own delay (0-20 ms): results finish out of order."""

    def make_request(self, request: Request) -> RequestResult:
        time.sleep(hashlib.sha256(request.prompt.encode()).digest()[0] / 255 * 0.02)
        return super().make_request(request)


def _states(count: int) -> list[RequestState]:
    states = []
    for index in range(count):
        instance = Instance(f"valid-{index}", f"q{index}", [Reference("Yes", ["correct"])], "valid")
        prompt = f"Question: q{index} a\nAnswer: Yes\n\nQuestion: q{index}\nAnswer:"
        states.append(RequestState(instance, 0, Request("uneven", prompt, max_tokens=2), [], 1, False, 9))
    return states


def test_results_come_back_in_request_order_from_a_bounded_window(tmp_path):
    spec = ModelSpec(name="uneven", client=f"{__name__}.UnevenLatencyClient")
    service = LocalService([spec], tmp_path / "cache")
    states = _states(300)
    pulled = []

    def source():
        for state in states:
            pulled.append(state)
            yield state

    executor = Executor(
        ExecutionSpec(name="local", num_threads=THREADS, cache_dir=str(tmp_path), progress=False), service
    )
    out, held = [], []
    for state in executor.execute(source(), len(states)):
        held.append(len(pulled) - len(out))  # pulled from the adapter, not yet handed back
        out.append(state)
    service.close()
    assert [state.request.prompt for state in out] == [state.request.prompt for state in states]
    assert all(state.result is not None and state.result.success for state in out)
    assert max(held) <= WINDOW_PER_THREAD * THREADS
    assert executor.num_succeeded == 300 and service.num_model_calls == 300

    again = LocalService([spec], tmp_path / "cache")  # a rerun: every result from the cache, same order
    executor = Executor(
        ExecutionSpec(name="local", num_threads=THREADS, cache_dir=str(tmp_path), progress=False), again
    )
    rerun = list(executor.execute(iter(states), len(states)))
    again.close()
    assert [dataclasses.replace(s.result, cached=False) for s in rerun] == [s.result for s in out]
    assert all(state.result.cached for state in rerun) and again.num_model_calls == 0


def _choices(index: int, split: str) -> Instance:
    options = ("red", "green", "blue", "grey")
    references = [Reference(text, ["correct"] if i == index % 4 else []) for i, text in enumerate(options)]
    return Instance(f"{split}-{index}", f"color {index} {'x' * (index % 5)}?", references, split)


def test_running_stats_equal_the_stats_of_the_whole_list(tmp_path):
    """The recorder scores each instance's requests together as they stream by (several per instance
    and trial here: one per option), and derives the split-level stats (calibration) from the file
    it wrote: the same stats as compute_stats over the whole list in memory."""
    service = LocalService([ModelSpec(name="simple", client="crfm_eval.models.clients.simple.SimpleClient")], tmp_path)
    instances = [_choices(i, "train") for i in range(8)] + [
        _choices(i, s) for s in ("valid", "test") for i in range(30)
    ]
    spec = AdaptationSpec(
        name="x",
        method="multiple_choice_separate_original",
        input_prefix="Q: ",
        output_prefix="Answer: ",
        max_train_instances=2,
        num_train_trials=3,
    )
    adapter = create_adapter(spec, service.model_specs[0], service, seed=4)
    execution = ExecutionSpec(name="local", num_threads=THREADS, cache_dir=str(tmp_path), progress=False)
    executed = Executor(execution, service).execute_all(adapter.adapt(instances, None))
    service.close()
    metrics = [EfficiencyMetric(), MultipleChoiceMetric(ks=[2]), CalibrationMetric()]
    per_instance, stats, execution_stats = compute_stats(metrics, executed)

    recorder = RunRecorder(tmp_path, metrics)
    for state in executed.request_states:
        recorder.record(state)
    recorder.finish()
    recorder.close()
    recorded_stats, recorded_execution_stats = recorder.stats()
    assert recorded_stats == stats
    # The recorder adds the cost of the calls (a price is the run's, not a metric's): 0 for this model.
    assert [stat for stat in recorded_execution_stats if stat.name != COST_STAT] == execution_stats
    assert next(stat for stat in recorded_execution_stats if stat.name == COST_STAT).sum == 0.0
    assert any(stat.name == "ece_10_bin" for stat in stats)  # a derived stat, read back from the file
    assert [entry["values"] for entry in iter_per_instance_stats(tmp_path)] == [e.values for e in per_instance]
    assert recorder.counts()["num_instances"] == 60 and len(per_instance) == 60 * 3
