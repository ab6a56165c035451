"""Prompt sensitivity: with several train trials each stat keeps its mean in every trial and their
spread (min, max, standard deviation of the trial means), beside the mean over instances."""

import statistics

import pytest
from conftest import run_cli

from crfm_eval.json_io import from_jsonable
from crfm_eval.metrics.accumulator import StatsAccumulator
from crfm_eval.metrics.statistics import trial_spread
from crfm_eval.runner.readers import iter_per_instance_stats, read_stats
from crfm_eval.states import PerInstanceStats, Stat

INSTANCES = 30


def run(tmp_path, shared_data, trials: int):
    completed = run_cli(
        "scenario=boolq",
        "adaptation=5shot",
        "model=simple",
        f"adaptation.num_train_trials={trials}",
        f"max_eval_instances={INSTANCES}",
        f"data_dir={shared_data}",
        "execution.progress=false",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    run_dir = next((tmp_path / "outputs" / "runs" / "default").glob("*/manifest.json")).parent
    stats = [from_jsonable(Stat, stat) for stat in read_stats(run_dir)]
    return run_dir, {stat.name: stat for stat in stats if stat.sub_split is None}, completed.stdout


def test_a_three_trial_run_keeps_each_trials_mean_and_their_spread(tmp_path, shared_data):
    run_dir, stats, stdout = run(tmp_path, shared_data, trials=3)
    by_trial: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for entry in iter_per_instance_stats(run_dir):
        by_trial[entry["train_trial_index"]].append(entry["values"]["exact_match"])
    assert [len(values) for values in by_trial.values()] == [INSTANCES] * 3
    expected = [sum(values) / INSTANCES for values in by_trial.values()]
    exact = stats["exact_match"]
    assert exact.trials is not None
    assert exact.trials.means == pytest.approx(expected, abs=1e-12)
    assert len(set(expected)) > 1  # the in-context examples of each trial differ, and so does the score
    assert (exact.trials.min, exact.trials.max) == (min(expected), max(expected))
    assert exact.trials.stddev == pytest.approx(statistics.stdev(expected), abs=1e-12)
    # Every instance is in every trial: the mean over instances is the mean of the trial means.
    assert exact.mean == pytest.approx(sum(expected) / 3, abs=1e-12)
    assert exact.count == INSTANCES  # the interval stays over instances, not instance x trial
    assert "trial means: min-max (sd)" in stdout
    assert f"{min(expected):.3f}-{max(expected):.3f} ({statistics.stdev(expected):.3f})" in stdout


def test_a_single_trial_run_has_no_spread(tmp_path, shared_data):
    _, stats, stdout = run(tmp_path, shared_data, trials=1)
    assert stats["exact_match"].trials is None
    assert "trial means" not in stdout


def test_trial_spread_needs_two_trials_and_the_streaming_accumulator_keeps_it():
    assert trial_spread({0: [1.0, 0.0]}) is None
    accumulator = StatsAccumulator(lambda name: True)
    # Two instances, two trials each, fed as the runner feeds them (an instance's trials together).
    for instance, trial, value in (("a", 0, 1.0), ("a", 1, 0.0), ("b", 0, 1.0), ("b", 1, 1.0)):
        accumulator.add(PerInstanceStats(instance, "valid", trial, {"exact_match": value}))
    (stat,) = accumulator.stats()
    assert stat.mean == 0.75 and stat.count == 2
    assert stat.trials is not None
    assert stat.trials.means == [1.0, 0.5] and (stat.trials.min, stat.trials.max) == (0.5, 1.0)
    assert stat.trials.stddev == pytest.approx(statistics.stdev([1.0, 0.5]))
    assert (stat.trials.sums, stat.trials.counts) == ([2.0, 1.0], [2, 2])  # what shards merge by
