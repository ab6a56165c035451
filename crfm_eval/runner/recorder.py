"""Each executed request state, as it arrives: one line in scenario_state.jsonl; once an instance's
states of one train trial are all in, its metric values as one line of per_instance_stats.jsonl
and into the running stats. Nothing per request stays in memory.

Two things need the whole run, and get it without holding it when they can:
- stats over parts of a split (sub-splits, macro average, contrast-set consistency, see
  metrics/breakdowns.py) and derived stats: from per_instance_stats.jsonl read back at the end,
  only when the run has parts or a metric derives;
- a metric with a `prepare` hook (it sees the states of many instances before scoring them, to
  batch an outside scorer: toxicity, in every generation run): then the states are held a window
  at a time (up to PREPARE_WINDOW whole instances), `prepare` is called with the window, and its
  instances are scored once the metrics say their scores are in (the Futures `prepare` returns),
  in order, while recording goes on; at most MAX_WAITING_INSTANCES wait, so memory stays flat. A
  scorer that costs milliseconds per call (the offline toxicity model) makes one call per window,
  not per instance, and works in its own process while requests are in flight: the run never
  stops for it until the end. The first window is small (FIRST_PREPARE_WINDOW) and each next one
  twice as large, so the offline model's process starts loading within the first second of
  requests (it takes 2-3 s), not after 500 instances.
"""

import dataclasses
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Optional

from crfm_eval.cost.usage import UsageMeter
from crfm_eval.metrics.accumulator import MetricSets, StatsAccumulator, derived_stats
from crfm_eval.metrics.breakdowns import breakdown_stats
from crfm_eval.metrics.metric import Metric
from crfm_eval.runner.outputs import PER_INSTANCE_STATS_FILE, SCENARIO_STATE_FILE, JsonlAppender, json_line
from crfm_eval.runner.readers import iter_per_instance_stats
from crfm_eval.specs import PriceSpec
from crfm_eval.states import PerInstanceStats, RequestState, Stat

COST_STAT = "cost"
"""Per instance, the dollars its calls cost at the model's price (0 from the cache): execution stats."""

PREPARE_WINDOW = 500
"""Whole instances (with their train trials) held for a `prepare` call, at most: 500 completions
score in one offline batch in ~30 ms here, one at a time in ~25 s; held states are a few MB at most."""

FIRST_PREPARE_WINDOW = 16
"""The first window's size (then doubled up to PREPARE_WINDOW)."""

MAX_WAITING_INSTANCES = 4000
"""Prepared instances waiting for their scores before the recorder waits too: the offline model
loads in 2-3 s, ~1,000 instances at 320 requests/s (a few tens of MB of 5-shot states at most)."""


class RunRecorder:
    def __init__(
        self,
        run_dir: Path,
        metrics: list[Metric],
        price: Optional[PriceSpec] = None,
        prepare_window: int = PREPARE_WINDOW,
    ) -> None:
        self.run_dir = run_dir
        self.usage = UsageMeter(price or PriceSpec())
        self._group_cost = 0.0
        self.metric_sets = MetricSets(metrics)
        self._states = JsonlAppender(run_dir / SCENARIO_STATE_FILE)
        self._per_instance = JsonlAppender(run_dir / PER_INSTANCE_STATS_FILE)
        self._stats = StatsAccumulator(self.metric_sets.is_proportion)
        self._execution_stats = StatsAccumulator(self.metric_sets.is_proportion)
        self._group: list[RequestState] = []
        """The states of the (instance, train trial) being received: a metric scores them together."""
        self._held: Optional[list[RequestState]] = [] if self.metric_sets.prepare else None
        """The states of the current window, kept for the metrics' `prepare` hook (None: no metric has one)."""
        self._held_instances = 0
        self._prepared: deque[tuple[list[RequestState], list[Future[Any]], int]] = deque()
        """Windows prepared and not yet scored, oldest first: their states, what their scores wait
        for, and their number of instances."""
        self._waiting_instances = 0
        self.prepare_window = prepare_window
        self._window = min(FIRST_PREPARE_WINDOW, prepare_window)
        self._has_parts = False
        """Some instance has a sub-split or a contrast set: breakdown stats are computed at the end."""
        self.num_requests = self.num_cache_hits = self.num_model_calls = self.num_failed_requests = 0
        self.first_error: Optional[str] = None

    def record(self, state: RequestState) -> None:
        self._states.append(json_line(state))
        self._count(state)
        if self._held is None:
            self._receive(state)
            return
        if not self._held or self._held[-1].instance.id != state.instance.id:
            # A new instance begins. The window is cut only here, between whole instances (all their
            # trials), so every instance held is complete when it is scored.
            if self._held_instances >= self._window:
                self._prepare_held()
                self._window = min(2 * self._window, self.prepare_window)
            self._held_instances += 1
        self._held.append(state)

    def _prepare_held(self) -> None:
        """`prepare` with the held window, then score the prepared windows whose scores are in."""
        held, count, self._held, self._held_instances = self._held or [], self._held_instances, [], 0
        if held:
            waits = [future for metric in self.metric_sets.prepare if (future := metric.prepare(held)) is not None]
            self._prepared.append((held, waits, count))
            self._waiting_instances += count
        self._score_prepared(wait=False)

    def _score_prepared(self, wait: bool) -> None:
        """Score prepared windows in order: those whose scores are in, or all of them with `wait`
        (or while too many instances wait)."""
        while self._prepared:
            states, waits, count = self._prepared[0]
            ready = all(future.done() for future in waits)
            if not (ready or wait or self._waiting_instances > MAX_WAITING_INSTANCES):
                return
            self._prepared.popleft()
            self._waiting_instances -= count
            for state in states:
                self._receive(state)
            self._evaluate_group()

    def _receive(self, state: RequestState) -> None:
        group = self._group[0] if self._group else None
        if group is not None and (group.instance.id, group.train_trial_index) != (
            state.instance.id,
            state.train_trial_index,
        ):
            self._evaluate_group()
        self._group.append(state)
        self._group_cost += self.usage.add(state)

    def _count(self, state: RequestState) -> None:
        self.num_requests += 1
        result = state.result
        if result is not None:
            self.num_cache_hits += result.cached
            self.num_model_calls += not result.cached  # a failed call is a call
        if result is None or not result.success:
            self.num_failed_requests += 1
            if self.first_error is None:
                self.first_error = (result.error if result is not None else None) or "no result"

    def _evaluate_group(self) -> None:
        if not self._group:
            return
        deterministic, execution = self.metric_sets.evaluate(self._group)
        instance, trial = self._group[0].instance, self._group[0].train_trial_index
        entry = PerInstanceStats(
            instance.id, instance.split, trial, deterministic, instance.sub_split, instance.contrast_set
        )
        self._has_parts = self._has_parts or instance.sub_split is not None or instance.contrast_set is not None
        self._per_instance.append(json_line(entry))
        self._stats.add(entry)
        execution[COST_STAT] = self._group_cost
        self._execution_stats.add(dataclasses.replace(entry, values=execution))
        self._group, self._group_cost = [], 0.0

    def finish(self) -> None:
        """Every request is in: score the last instance (not done on an interrupted run, whose last
        instance may lack requests)."""
        if self._held is not None:
            self._prepare_held()
            self._score_prepared(wait=True)
        self._evaluate_group()

    def close(self) -> None:
        self._states.close()
        self._per_instance.close()

    def stats(self) -> tuple[list[Stat], list[Stat]]:
        """(stats, execution stats) of everything recorded; after `finish` and `close`."""
        stats = self._stats.stats()
        if self.metric_sets.derive:
            stats += derived_stats(self.metric_sets.derive, self._stats.splits, self._values_of)
            stats.sort(key=lambda stat: (stat.split, stat.name))
        if self._has_parts:
            entries = (PerInstanceStats(**entry) for entry in iter_per_instance_stats(self.run_dir))
            stats += breakdown_stats(entries, self.metric_sets.is_proportion)
        return stats, self._execution_stats.stats()

    def _values_of(self, split: str) -> Iterator[dict[str, float]]:
        for entry in iter_per_instance_stats(self.run_dir):
            if entry["split"] == split:
                yield entry["values"]

    def counts(self) -> dict[str, Any]:
        return {
            "num_instances": self._stats.num_instances,
            "num_requests": self.num_requests,
            "num_cache_hits": self.num_cache_hits,
            "num_model_calls": self.num_model_calls,
            "num_failed_requests": self.num_failed_requests,
            "usage": self.usage.manifest(),
        }
