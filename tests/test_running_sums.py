"""Running sums (metrics/running_sums.py): the count, sums, min and max of a stream of floats equal,
bit for bit, what `summarize` computes from the whole list with `math.fsum`, `min` and `max`, and a
run's stats keep nothing per instance (memory that does not grow with the run)."""

import math
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crfm_eval.metrics import running_sums
from crfm_eval.metrics.accumulator import StatsAccumulator
from crfm_eval.metrics.running_sums import RunningStat, RunningSum
from crfm_eval.states import PerInstanceStats

# Squares must not overflow for the comparison to hold in every order (see the module's docstring).
values = st.floats(min_value=-1e150, max_value=1e150) | st.sampled_from(
    [0.0, -0.0, 1.0, 5e-324, -5e-324, 1e16, -1e16, 0.1, math.inf, -math.inf, math.nan]
)


def _outcome(compute):  # type: ignore[no-untyped-def]
    try:
        return repr(compute())  # repr: NaN equals NaN, -0.0 differs from 0.0
    except (OverflowError, ValueError) as error:
        return type(error).__name__


@settings(max_examples=400, deadline=None)
@given(st.lists(values, max_size=40), st.integers(min_value=1, max_value=7))
def test_the_running_sums_are_fsums_and_the_extremes_are_min_and_max(numbers: list[float], chunk: int) -> None:
    # A small chunk, so that the folding of chunks into the sums is what is tested.
    previous, running_sums.CHUNK = running_sums.CHUNK, chunk
    try:
        running = RunningStat()
        for number in numbers:
            running.add(number)

        def expected() -> tuple:
            if not numbers:
                return (0, 0.0, 0.0, None, None)
            squares = math.fsum(n * n for n in numbers)
            return (len(numbers), math.fsum(numbers), squares, min(numbers), max(numbers))

        assert _outcome(running.sums) == _outcome(expected)
        plain = RunningSum()
        for number in numbers:
            plain.add(number)
        assert _outcome(plain.total) == _outcome(lambda: math.fsum(numbers)) and plain.count == len(numbers)
    finally:
        running_sums.CHUNK = previous


def test_values_whose_float_sum_loses_digits_are_summed_exactly() -> None:
    running = RunningStat()
    for number in [1e16, 1.0, -1e16, 1e-16] * 3000:
        running.add(number)
    count, total, _, low, high = running.sums()
    assert (count, total, low, high) == (12_000, math.fsum([1.0, 1e-16] * 3000), -1e16, 1e16)
    assert total != sum([1e16, 1.0, -1e16, 1e-16] * 3000)  # what a running float sum would give


def _memory_after(instances: int, names: list[str]) -> int:
    tracemalloc.start()
    accumulator = StatsAccumulator(lambda name: False)
    for index in range(instances):
        values = {name: (index % 7) / 7 for name in names}
        accumulator.add(PerInstanceStats(str(index), "test", index % 3, values))
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert accumulator.num_instances == instances
    return size


@pytest.mark.parametrize("names", [[f"stat_{index}" for index in range(10)]])
def test_the_stats_of_a_run_keep_nothing_per_instance(names: list[str]) -> None:
    # Keeping one float per instance and stat (and per trial) grew by ~8 MB from 10,000 to 60,000
    # instances here; running sums hold at most a chunk per stat.
    small, large = _memory_after(10_000, names), _memory_after(60_000, names)
    assert large - small < 1_000_000, (small, large)
