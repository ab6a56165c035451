"""lm-evaluation-harness 0.4's per-sample records (`samples_<task>_<date>.jsonl`), one per eval
instance and train trial, as lm-eval's evaluator builds them and its EvaluationTracker writes them
(lm_eval/evaluator.py, lm_eval/loggers/evaluation_tracker.py):

    doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics,
    doc_hash, prompt_hash, target_hash, then each metric's value

with the tracker's rewriting applied: `arguments` as `{"gen_args_<i>": {"arg_<j>": ...}}`, the
leaves of `resps` and `filtered_resps` as strings (its `sanitize_list`), `target` as a string.

A generation request is lm-eval's `generate_until`: arguments (context, generation kwargs), one
response text per completion, filtered to the first. A run with several train trials gives one
record per trial, each with `train_trial_index` (lm-eval has no trials).
"""

import hashlib
import json
import re
from typing import Any

from crfm_eval.states import Instance, RequestState

FILTER = "none"
"""lm-eval's name of the default filter (take the first response)."""


def hash_string(text: str) -> str:
    """lm-eval's `hash_string`: the sha256 hex digest of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_id(instance: Instance, position: int) -> int:
    """lm-eval numbers documents by their index in the eval split: an instance id ending in that
    index (BoolQ's `valid-1184` is line 1184 of dev.jsonl) keeps it; others get their position."""
    match = re.search(r"(\d+)$", instance.id)
    return int(match.group(1)) if match else position


def doc(instance: Instance) -> dict[str, Any]:
    return {
        "id": instance.id,
        "input": instance.input,
        "references": [{"output": ref.output, "tags": list(ref.tags)} for ref in instance.references],
        "split": instance.split,
    }


def target(instance: Instance) -> str:
    reference = instance.first_correct_reference
    return reference.output if reference else ""


def _generation_arguments(state: RequestState) -> tuple[str, dict[str, Any]]:
    request = state.request
    kwargs = {
        "until": list(request.stop_sequences),
        "max_gen_toks": request.max_tokens,
        "do_sample": request.temperature > 0,
        "temperature": request.temperature,
    }
    return request.prompt, kwargs


def _responses(state: RequestState) -> list[str]:
    result = state.result
    if result is None or not result.success:
        return []
    return [completion.text for completion in result.completions]


def sample_record(
    position: int, states: list[RequestState], values: dict[str, float], with_trial: bool
) -> dict[str, Any]:
    """The record of one eval instance in one train trial (`states` are its requests, `values` its
    metric values under lm-eval's names)."""
    instance = states[0].instance
    arguments = [_generation_arguments(state) for state in states]
    responses = [_responses(state) for state in states]
    record_doc = doc(instance)
    record_target = target(instance)
    record: dict[str, Any] = {
        "doc_id": doc_id(instance, position),
        "doc": record_doc,
        "target": record_target,
        "arguments": {
            f"gen_args_{i}": {f"arg_{j}": argument for j, argument in enumerate(pair)}
            for i, pair in enumerate(arguments)
        },
        "resps": [[str(text) for text in texts] for texts in responses],
        "filtered_resps": [str(texts[0]) if texts else "" for texts in responses],
        "filter": FILTER,
        "metrics": list(values),
        "doc_hash": hash_string(json.dumps(record_doc, indent=2, ensure_ascii=False)),
        "prompt_hash": hash_string(arguments[0][0]),
        "target_hash": hash_string(record_target),
    }
    if with_trial:
        record["train_trial_index"] = states[0].train_trial_index
    record.update(values)
    return record
