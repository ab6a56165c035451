"""The streaming path of a run: the executor hands results back in request order while holding only
a bounded window, and the running stats equal the stats of the whole list."""

import dataclasses
import hashlib
import random
import time

from crfm_eval.execution.executor import WINDOW_PER_THREAD, Executor
from crfm_eval.metrics.accumulator import StatsAccumulator, split_values
from crfm_eval.metrics.basic import BasicMetric
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.models.service import LocalService
from crfm_eval.specs import AdaptationSpec, ExecutionSpec, ModelSpec
from crfm_eval.states import (
    Completion,
    Instance,
    PerInstanceStats,
    Reference,
    Request,
    RequestResult,
    RequestState,
    ScenarioState,
    Token,
)

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


def _executed(instance_id: str, split: str, trial: int, text: str | None, cached: bool) -> RequestState:
    instance = Instance(instance_id, "q", [Reference("Yes", ["correct"])], split)
    tokens = [Token(text or "", -0.5)]
    result = (
        RequestResult(True, [Completion(text, -0.5, tokens)], cached=cached, request_time=random.random())
        if text is not None
        else RequestResult(False, error="boom")
    )
    return RequestState(instance, trial, Request("m", "q"), [], 5, trial == 2, 100 + len(instance_id), result)


def test_running_stats_equal_the_stats_of_the_whole_list():
    rng = random.Random(3)
    states = [
        _executed(f"{split}-{index}", split, trial, rng.choice([" Yes", " No", "Yes!", None]), rng.random() < 0.5)
        for split in ("valid", "test")
        for index in range(40)
        for trial in range(3)  # each instance's trials together, as the adapter makes them
    ]
    metric = BasicMetric()
    per_instance, stats, execution_stats = compute_stats(metric, ScenarioState(AdaptationSpec(name="x"), states))
    running, running_execution = StatsAccumulator(metric.proportions), StatsAccumulator(metric.proportions)
    for state in states:
        deterministic, execution = split_values(metric, metric.evaluate(state))
        entry = PerInstanceStats(state.instance.id, state.instance.split, state.train_trial_index, deterministic)
        running.add(entry)
        running_execution.add(dataclasses.replace(entry, values=execution))
    assert running.stats() == stats and running_execution.stats() == execution_stats
    assert running.num_instances == 80
