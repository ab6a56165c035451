"""`--format helm`: a run folder in HELM's layout, which HELM's summarizer and web frontend read.

Field names are HELM 0.5's (helm/benchmark/run_spec.py, adaptation/adapter_spec.py,
adaptation/request_state.py, scenarios/scenario.py, common/request.py, metrics/statistic.py), and
fields that would be null are left out, as HELM's `asdict_without_nones` does. HELM's `groups` is
the scenario's name, which is also HELM's run group for the scenarios both tools share (`boolq`).
"""

import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

from crfm_eval.export.files import write_json, write_json_list
from crfm_eval.export.helm_stats import HelmStatsBuilder, helm_per_instance_stats
from crfm_eval.json_io import from_jsonable
from crfm_eval.runner.readers import (
    iter_per_instance_stats,
    iter_request_states,
    read_run_spec,
    read_stats,
    require_complete_run,
)
from crfm_eval.states import Completion, Instance, PerInstanceStats, Request, RequestResult, RequestState, Stat

DATA_AUGMENTER_SPEC = {
    "perturbation_specs": [],
    "should_augment_train_instances": False,
    "should_include_original_train": False,
    "should_skip_unchanged_train": False,
    "should_augment_eval_instances": False,
    "should_include_original_eval": False,
    "should_skip_unchanged_eval": False,
    "seeds_per_instance": 1,
}
"""HELM's DataAugmenterSpec that changes nothing (we do not perturb instances)."""


def export_helm(run_dir: Path, out_dir: Path) -> list[Path]:
    """Write HELM's five run files for the run in `run_dir` into `out_dir`; returns their paths."""
    require_complete_run(run_dir)
    run_spec = read_run_spec(run_dir)
    adapter_spec = helm_adapter_spec(run_spec)
    builder = HelmStatsBuilder()

    def per_instance() -> Iterator[dict[str, Any]]:
        for entry in (from_jsonable(PerInstanceStats, item) for item in iter_per_instance_stats(run_dir)):
            builder.add(entry)
            yield helm_per_instance_stats(entry)

    states = (helm_request_state(from_jsonable(RequestState, state)) for state in iter_request_states(run_dir))
    written = [
        write_json(out_dir / "run_spec.json", helm_run_spec(run_spec, adapter_spec)),
        write_json(out_dir / "scenario.json", helm_scenario(run_spec)),
        write_json_list(
            out_dir / "scenario_state.json", states, head={"adapter_spec": adapter_spec}, key="request_states"
        ),
        write_json_list(out_dir / "per_instance_stats.json", per_instance()),
    ]
    written.append(
        write_json(out_dir / "stats.json", builder.stats([from_jsonable(Stat, stat) for stat in read_stats(run_dir)]))
    )
    return written


def helm_adapter_spec(run_spec: dict[str, Any]) -> dict[str, Any]:
    adaptation = run_spec["adaptation"]
    model = run_spec["model"]["name"]
    return {
        "method": adaptation["method"],
        "global_prefix": adaptation["global_prefix"],
        "global_suffix": "",
        "instructions": adaptation["instructions"],
        "input_prefix": adaptation["input_prefix"],
        "input_suffix": adaptation["input_suffix"],
        "reference_prefix": adaptation.get("reference_prefix", "A. "),
        "reference_suffix": adaptation.get("reference_suffix", "\n"),
        "output_prefix": adaptation["output_prefix"],
        "output_suffix": adaptation["output_suffix"],
        "instance_prefix": adaptation["instance_prefix"],
        "substitutions": [],
        "max_train_instances": adaptation["max_train_instances"],
        **({"max_eval_instances": run_spec["max_eval_instances"]} if run_spec.get("max_eval_instances") else {}),
        "num_outputs": adaptation["num_outputs"],
        "num_train_trials": adaptation["num_train_trials"],
        "num_trials": 1,
        "sample_train": True,
        "model_deployment": model,
        "model": model,
        "temperature": adaptation["temperature"],
        "max_tokens": adaptation["max_tokens"],
        "stop_sequences": adaptation["stop_sequences"],
        "multi_label": False,
        "eval_splits": adaptation["eval_splits"],
    }


def _metric_specs(run_spec: dict[str, Any]) -> list[dict[str, Any]]:
    # One metric spec, or (since several metric sets per run) a dict of them by name.
    metric = run_spec.get("metric") or {}
    specs = [metric] if "_target_" in metric else list(metric.values())
    return [{"class_name": spec["_target_"], "args": spec.get("args", {})} for spec in specs]


def helm_run_spec(run_spec: dict[str, Any], adapter_spec: dict[str, Any]) -> dict[str, Any]:
    scenario = run_spec["scenario"]
    return {
        "name": run_spec["run_name"],
        "scenario_spec": {"class_name": scenario["_target_"], "args": scenario.get("args", {})},
        "adapter_spec": adapter_spec,
        "metric_specs": _metric_specs(run_spec),
        "data_augmenter_spec": DATA_AUGMENTER_SPEC,
        "groups": [scenario["name"]],
    }


def _description(class_path: str) -> str:
    """The first line of the scenario class's docstring (HELM shows it on the run's page)."""
    module, _, name = class_path.rpartition(".")
    try:
        doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
    except (ImportError, AttributeError, ValueError):  # a class that no longer imports: the name is enough
        doc = ""
    return doc.split("\n", 1)[0] or class_path


def helm_scenario(run_spec: dict[str, Any]) -> dict[str, Any]:
    """HELM's scenario.json: name, description, tags and where the scenario is defined."""
    scenario = run_spec["scenario"]
    return {
        "name": scenario["name"],
        "description": _description(scenario["_target_"]),
        "tags": [],
        "definition_path": scenario["_target_"],
        **scenario.get("args", {}),
    }


def _without_nones(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if value is not None}


def helm_instance(instance: Instance) -> dict[str, Any]:
    return {
        "input": {"text": instance.input},
        "references": [{"output": {"text": ref.output}, "tags": list(ref.tags)} for ref in instance.references],
        "split": instance.split,
        "id": instance.id,
    }


def helm_request(request: Request) -> dict[str, Any]:
    """HELM asks for a log-likelihood by echoing the prompt with the scored text appended and
    generating nothing; the result's tokens here are the scored text's only."""
    scoring = request.is_log_likelihood
    return _without_nones(
        {
            "model_deployment": request.model,
            "model": request.model,
            "embedding": False,
            "prompt": request.prompt + (request.continuation or ""),
            "temperature": request.temperature,
            "num_completions": request.num_completions,
            "top_k_per_token": request.top_k_per_token,
            "max_tokens": 0 if scoring else request.max_tokens,
            "stop_sequences": list(request.stop_sequences),
            "echo_prompt": request.echo_prompt or scoring,
            "top_p": request.top_p,
            "presence_penalty": 0,
            "frequency_penalty": 0,
            "random": request.random,
        }
    )


def helm_completion(completion: Completion) -> dict[str, Any]:
    return _without_nones(
        {
            "text": completion.text,
            "logprob": completion.logprob,
            "tokens": [{"text": token.text, "logprob": token.logprob} for token in completion.tokens],
            "finish_reason": {"reason": completion.finish_reason} if completion.finish_reason else None,
        }
    )


def helm_result(result: Optional[RequestResult]) -> Optional[dict[str, Any]]:
    if result is None:
        return None
    return _without_nones(
        {
            "success": result.success,
            "embedding": [],
            "completions": [helm_completion(completion) for completion in result.completions],
            "cached": result.cached,
            "request_time": result.request_time,
            "error": result.error,
        }
    )


def helm_request_state(state: RequestState) -> dict[str, Any]:
    return _without_nones(
        {
            "instance": helm_instance(state.instance),
            "reference_index": state.reference_index,
            "request_mode": state.request_mode,
            "train_trial_index": state.train_trial_index,
            "output_mapping": state.output_mapping,
            "request": helm_request(state.request),
            "result": helm_result(state.result),
            "num_train_instances": state.num_train_instances,
            "prompt_truncated": state.prompt_truncated,
            "num_conditioning_tokens": 0,
        }
    )
