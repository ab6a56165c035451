"""A model Request from the JSON a caller sent: every field's type and range, named when wrong.

Types are JSON's, strictly: a boolean is `true`/`false` (not "false", not 1), a whole number is not
a boolean, and a number may be written `0` or `0.0` (both become the same float, so the cache key is
the one an in-process run computes). Whether the prompt fits the model's window is checked here
only by its length in characters; the token count comes later, and only for requests the cache
cannot answer.
"""

import math
from dataclasses import fields
from typing import Any

from crfm_eval.proxy.json_input import refuse
from crfm_eval.proxy.limits import SEED_RANGE, Limits
from crfm_eval.specs import ModelSpec
from crfm_eval.states import Request

FIELDS = tuple(field.name for field in fields(Request))
REQUIRED = ("model", "prompt")


def _whole(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        refuse(400, f"request.{name} must be a whole number, not {_shown(value)}")
    if not low <= value <= high:
        refuse(400, f"request.{name} must be between {low} and {high}, not {_shown(value)}")
    return value


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        refuse(400, f"request.{name} must be a number, not {_shown(value)}")
    if not (math.isfinite(value) and low <= value <= high):
        refuse(400, f"request.{name} must be between {low:g} and {high:g}, not {_shown(value)}")
    return float(value)


def _text(value: Any, name: str, max_chars: int) -> str:
    if not isinstance(value, str):
        refuse(400, f"request.{name} must be a string, not {_shown(value)}")
    if len(value) > max_chars:
        refuse(400, f"request.{name} must be at most {max_chars} characters, not {len(value)}")
    return value


def _shown(value: Any) -> str:
    """A value as the caller wrote it, cut short (a huge or nested value stays one line)."""
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "an array"
    text = "null" if value is None else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_request(data: Any, models: dict[str, ModelSpec], limits: Limits) -> tuple[Request, ModelSpec]:
    """The Request and the served model it names; BadInput (400, 404, 413) otherwise."""
    if not isinstance(data, dict):
        refuse(400, f"'request' must be a JSON object with at least 'model' and 'prompt', not {_shown(data)}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        refuse(400, f"request has unknown field(s) {', '.join(unknown)}; the fields are {', '.join(FIELDS)}")
    missing = [name for name in REQUIRED if name not in data]
    if missing:
        refuse(400, f"request must give {' and '.join(missing)}")
    model = _text(data["model"], "model", limits.max_short_text_chars)
    spec = models.get(model)
    if spec is None:
        refuse(404, f"unknown model {model!r}; GET /api/general_info lists the models")
    window = spec.max_sequence_length
    prompt = _text(data["prompt"], "prompt", limits.max_body_bytes)
    if len(prompt) > window * limits.max_prompt_chars_per_token:
        refuse(
            413,
            f"request.prompt has {len(prompt)} characters, more than {model}'s window of {window} tokens can "
            f"hold ({limits.max_prompt_chars_per_token} characters per token at most)",
        )
    values: dict[str, Any] = {"model": model, "prompt": prompt}
    if "temperature" in data:
        values["temperature"] = _number(data["temperature"], "temperature", 0.0, limits.max_temperature)
    if "top_p" in data:
        values["top_p"] = _number(data["top_p"], "top_p", 0.0, 1.0)
    if "max_tokens" in data:
        values["max_tokens"] = _whole(data["max_tokens"], "max_tokens", 0, min(window, limits.max_tokens))
    if "num_completions" in data:
        values["num_completions"] = _whole(data["num_completions"], "num_completions", 1, limits.max_num_completions)
    if "top_k_per_token" in data:
        values["top_k_per_token"] = _whole(data["top_k_per_token"], "top_k_per_token", 0, limits.max_top_k_per_token)
    if "echo_prompt" in data:
        if not isinstance(data["echo_prompt"], bool):
            refuse(400, f"request.echo_prompt must be true or false, not {_shown(data['echo_prompt'])}")
        values["echo_prompt"] = data["echo_prompt"]
    if "stop_sequences" in data:
        values["stop_sequences"] = _stop_sequences(data["stop_sequences"], limits)
    if data.get("seed") is not None:
        values["seed"] = _whole(data["seed"], "seed", *SEED_RANGE)
    if data.get("random") is not None:
        values["random"] = _text(data["random"], "random", limits.max_short_text_chars)
    if data.get("continuation") is not None:
        # A log-likelihood request: the continuation is scored after the prompt, so both share the window.
        continuation = _text(data["continuation"], "continuation", limits.max_body_bytes)
        if len(prompt) + len(continuation) > window * limits.max_prompt_chars_per_token:
            refuse(
                413,
                f"request.prompt and request.continuation have {len(prompt) + len(continuation)} characters, more "
                f"than {model}'s window of {window} tokens can hold",
            )
        values["continuation"] = continuation
    return Request(**values), spec


def _stop_sequences(value: Any, limits: Limits) -> list[str]:
    if not isinstance(value, list):
        refuse(400, f"request.stop_sequences must be an array of strings, not {_shown(value)}")
    if len(value) > limits.max_stop_sequences:
        refuse(400, f"request.stop_sequences may hold at most {limits.max_stop_sequences} strings, not {len(value)}")
    return [_text(item, f"stop_sequences[{index}]", limits.max_short_text_chars) for index, item in enumerate(value)]
