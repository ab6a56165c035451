"""lm-evaluation-harness 0.4's per-sample records (`samples_<task>_<date>.jsonl`), one per eval
instance and train trial, as lm-eval's evaluator builds them and its EvaluationTracker writes them
(lm_eval/evaluator.py, lm_eval/loggers/evaluation_tracker.py):

    doc_id, doc, target, arguments, resps, filtered_resps, filter, metrics,
    doc_hash, prompt_hash, target_hash, then each metric's value

with the tracker's rewriting applied: `arguments` as `{"gen_args_<i>": {"arg_<j>": ...}}`, the
leaves of `resps` and `filtered_resps` as strings (its `sanitize_list`), `target` as a string.

By the adaptation method (lm-eval's output type):
- generation and joint multiple choice (`generate_until`): arguments (context, generation kwargs),
  one response text per completion, filtered to the first;
- the separate multiple-choice methods (`multiple_choice`, whose requests are `loglikelihood`):
  per option, arguments (context, continuation) and the response `[logprob, is_greedy]`, where
  is_greedy says every continuation token was the model's top choice (from the tokens' top-1
  alternatives; False when the client gave none); the target is the correct option's index;
- language modeling (`loglikelihood_rolling`): arguments (the text,), the response its total
  log-probability over all windows.

A run with several train trials gives one record per trial, each with `train_trial_index` (lm-eval
has no trials).
"""

import hashlib
import json
import re
from typing import Any

from crfm_eval.states import Completion, Instance, RequestState

LANGUAGE_MODELING = "language_modeling"

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


def target(states: list[RequestState]) -> str:
    """The correct option's index for the separate multiple-choice methods, else the correct text."""
    instance = states[0].instance
    if any(state.reference_index is not None for state in states):
        return str(next((i for i, reference in enumerate(instance.references) if reference.is_correct), -1))
    reference = instance.first_correct_reference
    return reference.output if reference else ""


def _completions(state: RequestState) -> list[Completion]:
    result = state.result
    return list(result.completions) if result is not None and result.success else []


def _is_greedy(completion: Completion) -> bool:
    return all(token.top_logprobs and token.logprob >= max(token.top_logprobs.values()) for token in completion.tokens)


def _requests(states: list[RequestState], method: str) -> tuple[list[tuple[Any, ...]], list[list[Any]]]:
    """lm-eval's (arguments, responses) of one document: one entry per lm-eval request."""
    if method == LANGUAGE_MODELING:
        total = sum(c.logprob for state in states for c in _completions(state)[:1])
        return [(states[0].instance.input,)], [[total] if all(_completions(s) for s in states) else []]
    arguments: list[tuple[Any, ...]] = []
    responses: list[list[Any]] = []
    for state in states:
        request = state.request
        if request.is_log_likelihood:
            arguments.append((request.prompt, request.continuation))
            responses.append([(c.logprob, _is_greedy(c)) for c in _completions(state)[:1]])
        else:
            kwargs = {
                "until": list(request.stop_sequences),
                "max_gen_toks": request.max_tokens,
                "do_sample": request.temperature > 0,
                "temperature": request.temperature,
            }
            arguments.append((request.prompt, kwargs))
            responses.append([c.text for c in _completions(state)])
    return arguments, responses


def _sanitize(value: Any) -> Any:
    """lm-eval's `sanitize_list`: every leaf of nested lists and tuples as a string."""
    if isinstance(value, (list, tuple)):
        return [_sanitize(item) for item in value]
    return str(value)


def sample_record(
    position: int, states: list[RequestState], values: dict[str, float], with_trial: bool, method: str
) -> dict[str, Any]:
    """The record of one eval instance in one train trial (`states` are its requests, `values` its
    metric values under lm-eval's names, `method` the run's adaptation method)."""
    instance = states[0].instance
    arguments, responses = _requests(states, method)
    record_doc = doc(instance)
    record_target = target(states)
    record: dict[str, Any] = {
        "doc_id": doc_id(instance, position),
        "doc": record_doc,
        "target": record_target,
        "arguments": {
            f"gen_args_{i}": {f"arg_{j}": argument for j, argument in enumerate(pair)}
            for i, pair in enumerate(arguments)
        },
        "resps": _sanitize(responses),
        "filtered_resps": [_sanitize(answers[0]) if answers else "" for answers in responses],
        "filter": FILTER,
        "metrics": list(values),
        "doc_hash": hash_string(json.dumps(record_doc, indent=2, ensure_ascii=False)),
        "prompt_hash": hash_string(str(arguments[0][0])),
        "target_hash": hash_string(record_target),
    }
    if with_trial:
        record["train_trial_index"] = states[0].train_trial_index
    record.update(values)
    return record
