"""`--format lm-eval`: what `lm_eval --output_path OUT_DIR --log_samples` writes, for one run:

    OUT_DIR/<model, sanitized>/results_<date>.json
    OUT_DIR/<model, sanitized>/samples_<task>_<date>.jsonl     (one per task)

`results_<date>.json` has lm-eval 0.4's keys (lm_eval/evaluator.py, loggers/evaluation_tracker.py):
`results.<task>` with `<metric>,none` and `<metric>_stderr,none` (the standard error of the mean,
lm-eval's `mean_stderr`: sample standard deviation / sqrt(n); "N/A" where there is none),
`group_subtasks`, `configs`, `versions`, `n-shot`, `n-samples`, `config`, the date and hashes.

The task is the scenario's name (or `--task`); a run with several eval splits gives one task per
split (`<task>_<split>`). `<date>` is when the run finished (from its manifest), so exporting the
same run twice writes the same files.
"""

import math
import re
from collections.abc import Iterator
from datetime import datetime
from itertools import groupby
from pathlib import Path
from typing import Any, Optional

import crfm_eval
from crfm_eval.export.files import write_json, write_json_lines
from crfm_eval.export.lm_eval_samples import hash_string, sample_record
from crfm_eval.json_io import from_jsonable
from crfm_eval.runner.metric_info import read_metric_info
from crfm_eval.runner.readers import (
    iter_per_instance_stats,
    iter_request_states,
    read_manifest,
    read_run_spec,
    read_stats,
    require_complete_run,
)
from crfm_eval.states import PerInstanceStats, RequestState, Stat

NOT_AVAILABLE = "N/A"
OUTPUT_TYPES = {
    "generation": "generate_until",
    "multiple_choice_joint": "generate_until",
    "multiple_choice_separate_original": "multiple_choice",
    "multiple_choice_separate_calibrated": "multiple_choice",
    "language_modeling": "loglikelihood_rolling",
}
"""lm-eval's output type of each adaptation method (an unlisted method: generate_until)."""
LM_EVAL_NAMES = {"multiple_choice": {"exact_match": "acc"}}
"""Our stat names under lm-eval's, by output type: the separate methods' exact_match is lm-eval's
`acc` (argmax of the options' log-likelihoods); acc_norm is already called so."""


def output_type(run_spec: dict[str, Any]) -> str:
    return OUTPUT_TYPES.get(run_spec["adaptation"]["method"], "generate_until")


def lm_eval_name(name: str, kind: str) -> str:
    return LM_EVAL_NAMES.get(kind, {}).get(name, name)


def sanitize_model_name(model_name: str) -> str:
    """lm-eval's folder name for a model (`sanitize_model_name`)."""
    return re.sub(r"[\"<>:/|\\?*\[\]]+", "__", model_name)


def date_id(manifest: dict[str, Any]) -> str:
    """lm-eval's `datetime.now().isoformat().replace(":", "-")`, at the time the run finished (UTC)."""
    finished = datetime.fromisoformat(manifest["finished_at"]).replace(tzinfo=None)
    return finished.isoformat().replace(":", "-")


def export_lm_eval(run_dir: Path, out_dir: Path, task: Optional[str] = None) -> list[Path]:
    """Write lm-eval's results and samples files for the run in `run_dir`; returns their paths."""
    require_complete_run(run_dir)
    run_spec, manifest = read_run_spec(run_dir), read_manifest(run_dir) or {}
    stats = [from_jsonable(Stat, stat) for stat in read_stats(run_dir)]
    kind = output_type(run_spec)
    values = {
        (e.instance_id, e.train_trial_index): {lm_eval_name(name, kind): v for name, v in e.values.items()}
        for e in (from_jsonable(PerInstanceStats, entry) for entry in iter_per_instance_stats(run_dir))
    }
    splits = sorted({stat.split for stat in stats})
    base = task or run_spec["scenario"]["name"]
    tasks = {split: base if len(splits) == 1 else f"{base}_{split}" for split in splits}
    model = run_spec["model"]["name"]
    folder = out_dir / sanitize_model_name(model)
    date = date_id(manifest)
    with_trial = run_spec["adaptation"]["num_train_trials"] > 1

    written, task_hashes = [], {}
    for split, task_name in tasks.items():
        hashes: list[str] = []  # lm-eval's task hash covers every sample's three hashes, in order
        records = _records(run_dir, split, values, with_trial, hashes, run_spec["adaptation"]["method"])
        written.append(write_json_lines(folder / f"samples_{task_name}_{date}.jsonl", records))
        task_hashes[task_name] = hash_string("".join(hashes))
    results = _results(run_spec, manifest, stats, tasks, read_metric_info(run_dir))
    results["task_hashes"] = task_hashes
    written.insert(0, write_json(folder / f"results_{date}.json", results))
    return written


def _records(
    run_dir: Path,
    split: str,
    values: dict[tuple[str, int], dict[str, float]],
    with_trial: bool,
    hashes: list[str],
    method: str,
) -> Iterator[dict[str, Any]]:
    positions: dict[str, int] = {}
    all_states = (from_jsonable(RequestState, state) for state in iter_request_states(run_dir))
    in_split = (state for state in all_states if state.instance.split == split)
    for (instance_id, trial), group in groupby(in_split, key=lambda s: (s.instance.id, s.train_trial_index)):
        states: list[RequestState] = list(group)
        position = positions.setdefault(instance_id, len(positions))
        record = sample_record(position, states, values.get((instance_id, trial), {}), with_trial, method)
        hashes.append(record["doc_hash"] + record["prompt_hash"] + record["target_hash"])
        yield record


def _stderr(stat: Stat) -> Any:
    if stat.stddev is None or stat.count < 2:
        return NOT_AVAILABLE
    return stat.stddev / math.sqrt(stat.count)


def _results(
    run_spec: dict[str, Any],
    manifest: dict[str, Any],
    stats: list[Stat],
    tasks: dict[str, str],
    metric_info: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    adaptation, model, kind = run_spec["adaptation"], run_spec["model"]["name"], output_type(run_spec)
    results: dict[str, dict[str, Any]] = {}
    n_samples: dict[str, dict[str, int]] = {}
    higher_is_better: dict[str, dict[str, bool]] = {}
    for split, task_name in tasks.items():
        entry: dict[str, Any] = {"alias": task_name}
        higher_is_better[task_name] = {}
        # The whole split only: lm-eval's group score of a task with parts (MMLU) is weighted by size,
        # which is our whole-split mean; the sub-splits' stats stay in our own stats.json.
        for stat in (s for s in stats if s.split == split and s.sub_split is None and s.mean is not None):
            name = lm_eval_name(stat.name, kind)
            entry[f"{name},none"] = stat.mean
            entry[f"{name}_stderr,none"] = _stderr(stat)
            lower = metric_info.get(stat.name, {}).get("lower_is_better")
            if lower is not None:
                higher_is_better[task_name][name] = not lower
        results[task_name] = entry
        count = max((s.count for s in stats if s.split == split and s.sub_split is None), default=0)
        n_samples[task_name] = {"original": count, "effective": count}
    version = crfm_eval.__version__
    finished = datetime.fromisoformat(manifest["finished_at"])
    seed = run_spec["seed"]
    return {
        "results": results,
        "group_subtasks": {task_name: [] for task_name in tasks.values()},
        "configs": {task_name: _task_config(run_spec, split, task_name) for split, task_name in tasks.items()},
        "versions": {task_name: version for task_name in tasks.values()},
        "n-shot": {task_name: adaptation["max_train_instances"] for task_name in tasks.values()},
        "higher_is_better": higher_is_better,
        "n-samples": n_samples,
        "config": {
            "model": "crfm_eval",
            "model_args": f"model={model}",
            "batch_size": None,
            "batch_sizes": [],
            "device": None,
            "use_cache": None,
            "limit": run_spec.get("max_eval_instances"),
            "bootstrap_iters": 0,
            "gen_kwargs": None,
            "random_seed": seed,
            "numpy_seed": seed,
            "torch_seed": seed,
            "fewshot_seed": seed,
        },
        "git_hash": (manifest.get("git_commit") or "")[:7] or None,
        "date": finished.timestamp(),
        "model_source": "crfm_eval",
        "model_name": model,
        "model_name_sanitized": sanitize_model_name(model),
        "system_instruction": None,
        "system_instruction_sha": None,
        "fewshot_as_multiturn": False,
        "chat_template": None,
        "chat_template_sha": None,
        "start_time": finished.timestamp() - manifest.get("wall_time_seconds", 0.0),
        "end_time": finished.timestamp(),
        "total_evaluation_time_seconds": str(manifest.get("wall_time_seconds", "")),
    }


def _task_config(run_spec: dict[str, Any], split: str, task_name: str) -> dict[str, Any]:
    """lm-eval's TaskConfig keys that have a meaning here; the run's own spec under `metadata`."""
    adaptation, scenario = run_spec["adaptation"], run_spec["scenario"]
    kind = output_type(run_spec)
    generation = kind == "generate_until"
    return {
        "task": task_name,
        "dataset_path": scenario["_target_"],
        "dataset_name": scenario["name"],
        "dataset_kwargs": scenario.get("args", {}),
        "test_split" if split == "test" else "validation_split": split,
        "output_type": kind,
        "num_fewshot": adaptation["max_train_instances"],
        "repeats": 1,
        **(
            {
                "generation_kwargs": {
                    "until": adaptation["stop_sequences"],
                    "max_gen_toks": adaptation["max_tokens"],
                    "do_sample": adaptation["temperature"] > 0,
                    "temperature": adaptation["temperature"],
                }
            }
            if generation
            else {}
        ),
        "fewshot_config": {"sampler": adaptation.get("sampling", "crfm_eval")},
        "metadata": {"version": crfm_eval.__version__, "crfm_eval": run_spec},
    }
