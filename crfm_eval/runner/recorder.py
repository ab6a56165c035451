"""Each executed request state, as it arrives: one line in scenario_state.jsonl, its metric values in
per_instance_stats.jsonl, and into the running stats and counts. Nothing per request stays in memory."""

import dataclasses
from pathlib import Path
from typing import Any, Optional

from crfm_eval.metrics.accumulator import StatsAccumulator, split_values
from crfm_eval.metrics.metric import Metric
from crfm_eval.runner.outputs import PER_INSTANCE_STATS_FILE, SCENARIO_STATE_FILE, JsonlAppender, json_line
from crfm_eval.states import PerInstanceStats, RequestState, Stat


class RunRecorder:
    def __init__(self, run_dir: Path, metric: Metric) -> None:
        self.metric = metric
        self._states = JsonlAppender(run_dir / SCENARIO_STATE_FILE)
        self._per_instance = JsonlAppender(run_dir / PER_INSTANCE_STATS_FILE)
        self._stats = StatsAccumulator(metric.proportions)
        self._execution_stats = StatsAccumulator(metric.proportions)
        self.num_requests = self.num_cache_hits = self.num_model_calls = self.num_failed_requests = 0
        self.first_error: Optional[str] = None

    def record(self, state: RequestState) -> None:
        self._states.append(json_line(state))
        deterministic, execution = split_values(self.metric, self.metric.evaluate(state))
        entry = PerInstanceStats(state.instance.id, state.instance.split, state.train_trial_index, deterministic)
        self._per_instance.append(json_line(entry))
        self._stats.add(entry)
        self._execution_stats.add(dataclasses.replace(entry, values=execution))
        self.num_requests += 1
        result = state.result
        if result is not None:
            self.num_cache_hits += result.cached
            self.num_model_calls += not result.cached  # a failed call is a call
        if result is None or not result.success:
            self.num_failed_requests += 1
            if self.first_error is None:
                self.first_error = (result.error if result is not None else None) or "no result"

    def stats(self) -> tuple[list[Stat], list[Stat]]:
        """(stats, execution stats) of everything recorded."""
        return self._stats.stats(), self._execution_stats.stats()

    def counts(self) -> dict[str, Any]:
        return {
            "num_instances": self._stats.num_instances,
            "num_requests": self.num_requests,
            "num_cache_hits": self.num_cache_hits,
            "num_model_calls": self.num_model_calls,
            "num_failed_requests": self.num_failed_requests,
        }

    def close(self) -> None:
        self._states.close()
        self._per_instance.close()
