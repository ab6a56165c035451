"""The Runner controller: drives scenario -> adapter -> executor -> metric -> files for one RunSpec.

One pass, streaming: the adapter makes request states on demand, the executor hands back each
with its result in request order, and the recorder writes it to the run folder and into the
running stats before the next one. Memory stays that of the train pool and the states in flight,
whatever the number of instances.
"""

import logging
import time
from pathlib import Path
from typing import Optional

from crfm_eval.adaptation.adapter import AdaptationPlan
from crfm_eval.adaptation.methods import check_model_supports, create_adapter
from crfm_eval.cost.budget import Budget, BudgetExceeded
from crfm_eval.errors import UserError
from crfm_eval.execution.executor import Executor
from crfm_eval.metrics import quantiles
from crfm_eval.metrics.metric import EFFICIENCY, Metric, MetricInfo, metric_info
from crfm_eval.models.credentials import Credentials
from crfm_eval.models.service import LocalService, Service
from crfm_eval.objects import create_object, import_class
from crfm_eval.runner.manifest import ManifestFacts
from crfm_eval.runner.metric_info import write_metric_info
from crfm_eval.runner.outputs import run_dir_of, start_run_folder, write_manifest, write_stats
from crfm_eval.runner.recorder import COST_STAT, RunRecorder
from crfm_eval.runner.report import stats_table
from crfm_eval.runner.resume import check_same_run, completed_stats, mark_incomplete
from crfm_eval.scenarios.scenario import Scenario
from crfm_eval.specs import MetricSpec, RunSpec
from crfm_eval.states import Stat

log = logging.getLogger(__name__)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C while the requests of a run were being made: how far it got."""

    def __init__(self, kept: int, total: Optional[int], written: int, run_dir: Path) -> None:
        super().__init__(kept, total, written, run_dir)
        self.kept, self.total, self.written, self.run_dir = kept, total, written, run_dir

    @property
    def progress(self) -> str:
        of_total = "" if self.total is None else f" of {self.total}"
        return f"{self.kept}{of_total} requests finished and are kept"

    def __str__(self) -> str:
        return (
            f"Interrupted: {self.progress} (in the cache; {self.written} written to {self.run_dir}); "
            "run the same command again to resume."
        )


COST_INFO = MetricInfo(
    COST_STAT,
    EFFICIENCY,
    "Cost ($)",
    "Dollars per instance for the calls this run made, at the model's price (cached calls cost 0).",
    lower_is_better=True,
)


def create_service(run_spec: RunSpec) -> Service:
    """The Service the run's execution spec asks for: a proxy over HTTP, or the clients in-process.

    Both are the same interface, so the rest of the run does not know which one it has.
    """
    execution = run_spec.execution
    if execution.url:
        from crfm_eval.proxy.remote_service import RemoteService  # only proxy runs pay for `requests`

        return RemoteService(execution.url, execution.api_key)
    return LocalService([run_spec.model], Path(execution.cache_dir), _credentials(run_spec))


def _credentials(run_spec: RunSpec) -> Credentials:
    path = run_spec.execution.credentials_file
    return Credentials.load(Path(path) if path else None)


def run(run_spec: RunSpec) -> list[Stat]:
    """Evaluate one run and write its folder; returns its stats."""
    start, cpu_before_run = time.perf_counter(), time.process_time()
    run_dir = run_dir_of(run_spec)
    check_same_run(run_dir, run_spec)
    done = None if run_spec.force else completed_stats(run_dir, run_spec)
    if done is not None:
        log.info("%s is already complete, skipping (force=true runs it again).", run_dir)
        return done
    # An unknown method, or one the model's API cannot serve, stops here: before data or requests.
    adapter_class = check_model_supports(run_spec.adaptation.method, run_spec.model)
    scenario_class = import_class(run_spec.scenario._target_, Scenario, "scenario._target_")
    # Metrics that need a key (Perspective) fail here, in one sentence, before anything is written.
    provided = {"credentials": _credentials(run_spec), "cache_dir": run_spec.execution.cache_dir}
    metrics = [
        create_object(spec._target_, spec.args, Metric, f"metric.{name}._target_", provided)
        for name, spec in metric_specs(
            adapter_class.metric_specs + scenario_class.metric_specs, run_spec.metric
        ).items()
    ]
    mark_incomplete(run_dir)
    facts = ManifestFacts.gather()  # git and library versions, looked up while the run goes on
    scenario = create_object(run_spec.scenario._target_, run_spec.scenario.args, Scenario, "scenario._target_")
    instances = scenario.get_instances(Path(run_spec.data_dir))

    service = create_service(run_spec)
    recorder = None
    try:
        adapter = create_adapter(run_spec.adaptation, run_spec.model, service, run_spec.seed)
        plan = adapter.plan(instances, run_spec.max_eval_instances)
        log.info(
            "%s: %d eval instances, %s requests to %s",
            run_spec.scenario.name,
            plan.num_eval_instances,
            "?" if plan.num_requests is None else plan.num_requests,
            run_spec.model.name,
        )
        start_run_folder(run_dir, run_spec)
        recorder = RunRecorder(run_dir, metrics, run_spec.model.price)
        setup_seconds = time.perf_counter() - start
        # With quantiles remembered from earlier runs, scipy is likely not needed at all; else the
        # helper process loads it on another core while the requests are in flight, unless a metric
        # loads it there anyway (the toxicity model: a second load competed for the cores, and the
        # execute phase of bench/request_rate.py at 16 threads reached 0.92-0.93 of the limit with
        # it, 0.93-0.94 without).
        remembered = quantiles.load(Path(run_spec.execution.cache_dir))
        if not remembered and not any(metric.loads_scipy for metric in metrics):
            quantiles.start_helper()
        execute_seconds, execute_cpu_seconds = _execute(run_spec, service, plan, recorder, run_dir)
    finally:
        service.close()
        for metric in metrics:
            metric.close()  # the toxicity score cache, Perspective's connections
        if recorder is not None:
            recorder.close()

    stats, execution_stats = recorder.stats()
    quantiles.save(Path(run_spec.execution.cache_dir))
    write_stats(run_dir, stats, execution_stats)
    described = {**metric_info(metrics), COST_STAT: COST_INFO}
    write_metric_info(run_dir, described, {stat.name for stat in stats + execution_stats})
    timings = {
        "wall_time_seconds": time.perf_counter() - start,
        "setup_seconds": setup_seconds,
        "execute_seconds": execute_seconds,
        "cpu_seconds_before_run": cpu_before_run,  # the interpreter, imports and Hydra
        "cpu_seconds": time.process_time(),
        "execute_cpu_seconds": execute_cpu_seconds,
    }
    write_manifest(run_dir, facts.manifest(run_spec.seed, {**recorder.counts(), **timings}))
    log.info("Results in %s\n%s", run_dir, stats_table(stats + execution_stats))
    if recorder.num_failed_requests:
        raise UserError(
            f"{recorder.num_failed_requests} of {recorder.num_requests} requests failed (first: {recorder.first_error}); "
            "fix the cause and rerun the same command: finished requests come from the cache."
        )
    return stats


def metric_specs(method_specs: tuple[MetricSpec, ...], added: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
    """The metric sets of a run by name: the method's, then the config's; a set the config names
    like one of the method's replaces it (to change its arguments)."""
    chosen = {spec.name: spec for spec in method_specs}
    for name, spec in added.items():
        chosen[name] = spec
    return chosen


def _execute(
    run_spec: RunSpec, service: Service, plan: AdaptationPlan, recorder: RunRecorder, run_dir: Path
) -> tuple[float, float]:
    """Every request, each result recorded as it comes; (wall, CPU) seconds it took."""
    start, cpu_start = time.perf_counter(), time.process_time()
    max_cost = run_spec.execution.max_cost
    budget = None if max_cost is None else Budget(max_cost, run_spec.model.price, service, run_spec.model.name)
    executor = Executor(run_spec.execution, service, budget)
    try:
        for state in executor.execute(plan.request_states, plan.num_requests):
            recorder.record(state)
    except KeyboardInterrupt:
        raise RunInterrupted(executor.num_succeeded, plan.num_requests, recorder.num_requests, run_dir) from None
    except BudgetExceeded as stop:
        # Read after the calls in flight were answered (the executor waits for them): all that was paid.
        spent, num_calls = (budget.spent, budget.num_calls) if budget is not None else (stop.spent, stop.num_calls)
        left = "the rest" if plan.num_requests is None else f"{plan.num_requests - recorder.num_requests}"
        of_total = "" if plan.num_requests is None else f" of {plan.num_requests}"
        raise UserError(
            f"Stopped before going over execution.max_cost=${stop.max_cost:g}: spent ${spent:.6f} on "
            f"{num_calls} model calls (their results are in the cache); {left}{of_total} requests are "
            "left to run: rerun with a larger execution.max_cost to finish without paying twice."
        ) from None
    recorder.finish()
    return time.perf_counter() - start, time.process_time() - cpu_start
