"""The Runner controller: drives scenario -> adapter -> executor -> metric -> files for one RunSpec."""

import logging
import time
from pathlib import Path

from crfm_eval.adaptation.methods import check_model_supports, create_adapter
from crfm_eval.errors import UserError
from crfm_eval.execution.executor import Executor, failed_states
from crfm_eval.metrics.metric import Metric, compute_stats, metric_info
from crfm_eval.models.credentials import Credentials
from crfm_eval.models.service import LocalService, Service
from crfm_eval.objects import create_object, import_class
from crfm_eval.proxy.remote_service import RemoteService
from crfm_eval.runner.manifest import build_manifest
from crfm_eval.runner.metric_info import write_metric_info
from crfm_eval.runner.outputs import run_dir_of, write_manifest, write_run_outputs
from crfm_eval.runner.report import stats_table
from crfm_eval.runner.resume import check_same_run, completed_stats, mark_incomplete
from crfm_eval.scenarios.scenario import Scenario
from crfm_eval.specs import MetricSpec, RunSpec
from crfm_eval.states import ScenarioState, Stat

log = logging.getLogger(__name__)


def create_service(run_spec: RunSpec) -> Service:
    """The Service the run's execution spec asks for: a proxy over HTTP, or the clients in-process.

    Both are the same interface, so the rest of the run does not know which one it has.
    """
    execution = run_spec.execution
    if execution.url:
        return RemoteService(execution.url, execution.api_key)
    return LocalService([run_spec.model], Path(execution.cache_dir), _credentials(run_spec))


def _credentials(run_spec: RunSpec) -> Credentials:
    path = run_spec.execution.credentials_file
    return Credentials.load(Path(path) if path else None)


def run(run_spec: RunSpec) -> list[Stat]:
    """Evaluate one run and write its folder; returns its stats."""
    start = time.perf_counter()
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
    scenario = create_object(run_spec.scenario._target_, run_spec.scenario.args, Scenario, "scenario._target_")
    instances = scenario.get_instances(Path(run_spec.data_dir))
    log.info("%s: %d instances", run_spec.scenario.name, len(instances))

    service = create_service(run_spec)
    try:
        adapter = create_adapter(run_spec.adaptation, run_spec.model, service, run_spec.seed)
        scenario_state = adapter.adapt(instances, run_spec.max_eval_instances)
        log.info("%d requests to %s", len(scenario_state.request_states), run_spec.model.name)
        scenario_state = Executor(run_spec.execution, service).execute(scenario_state)
    finally:
        service.close()

    per_instance_stats, stats, execution_stats = compute_stats(metrics, scenario_state)
    write_run_outputs(run_dir, run_spec, scenario_state, per_instance_stats, stats, execution_stats)
    write_metric_info(run_dir, metric_info(metrics), {stat.name for stat in stats + execution_stats})
    failures = failed_states(scenario_state.request_states)
    write_manifest(run_dir, build_manifest(run_spec.seed, time.perf_counter() - start, _counts(scenario_state)))
    log.info("Results in %s\n%s", run_dir, stats_table(stats + execution_stats))
    if failures:
        first_error = failures[0].result.error if failures[0].result else "no result"
        raise UserError(
            f"{len(failures)} of {len(scenario_state.request_states)} requests failed (first: {first_error}); "
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


def _counts(scenario_state: ScenarioState) -> dict[str, int]:
    results = [state.result for state in scenario_state.request_states if state.result is not None]
    return {
        "num_instances": len({state.instance.id for state in scenario_state.request_states}),
        "num_requests": len(scenario_state.request_states),
        "num_cache_hits": sum(result.cached for result in results),
        "num_model_calls": sum(not result.cached for result in results),
        "num_failed_requests": sum(not result.success for result in results),
    }
