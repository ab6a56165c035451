"""Run identity: the settings of a RunSpec that can change a number, and the folder name made of them.

Two runs that differ in any of these settings are different runs: they get different folders, and
a folder that holds one is never silently replaced by the other. Settings that cannot change a
number are left out (`NOT_IDENTITY`): where the run is written (`output_dir`, `suite`, `run_name`),
whether it is forced, and how requests travel (`execution.*`: threads, progress, cache folder, proxy
address and key; the proxy and the in-process clients give the same numbers).

The default folder name is `{scenario}_{adaptation}_{model}` followed by the identity settings that
differ from the defaults of the chosen config groups, e.g.
`boolq_5shot_simple--deterministic_max_eval_instances=50,seed=1`. A value that is long or not
path-safe (a prompt piece, a list, a path) is shown as `~` and 8 hex digits of its sha256, and a
name longer than MAX_RUN_NAME_CHARS keeps its readable start and ends in a hash of what it cut.

The leaderboard labels entries with `identity_settings` and `distinguishing_settings`: both read a
RunSpec or the dict in run_spec.json.
"""

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from crfm_eval.json_io import to_jsonable
from crfm_eval.specs import RunSpec

NOT_IDENTITY = (
    "run_name",
    "suite",
    "output_dir",
    "force",
    "dry_run",
    "execution",
    "model.args.n_threads",
    "model.price",
)
"""Settings (and everything under them) that cannot change a number. llama.cpp splits work between
threads without changing any result, so its thread count is not part of a run's identity; a
model's price changes what a run costs, not what it measures."""

NAMED_IN_BASE = ("scenario.name", "adaptation.name", "model.name")
"""Identity settings the start of a folder name already shows."""

MAX_VALUE_CHARS = 24
MAX_RUN_NAME_CHARS = 120
"""Folder names stay well below the 255 bytes file systems allow, and readable in a listing."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]+")


def path_safe(text: str) -> str:
    """`text` usable as one folder name: `openai/gpt-4o` becomes `openai--gpt-4o`."""
    return _UNSAFE.sub("--", text)


def _record(spec: RunSpec | Mapping[str, Any]) -> dict[str, Any]:
    """The spec as JSON data, as run_spec.json holds it."""
    data = dict(spec) if isinstance(spec, Mapping) else to_jsonable(spec)
    return json.loads(json.dumps(data))


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{dotted}."))
        elif not (isinstance(value, Mapping) and not value):  # an empty dict sets nothing
            flat[dotted] = value
    return flat


def _excluded(key: str, prefixes: Sequence[str]) -> bool:
    return any(key == prefix or key.startswith(prefix + ".") for prefix in prefixes)


def identity_settings(spec: RunSpec | Mapping[str, Any]) -> dict[str, Any]:
    """The settings of `spec` that can change a number, by dotted key (`adaptation.max_tokens`), sorted.

    Dicts (e.g. `model.args`) are flattened to one key per value; lists stay whole values.
    """
    flat = _flatten(_record(spec))
    return {key: flat[key] for key in sorted(flat) if not _excluded(key, NOT_IDENTITY)}


def default_settings(spec_class: type = RunSpec, prefix: str = "") -> dict[str, Any]:
    """The identity settings that have a default in the spec classes themselves (fields without one,
    and free-form args, are absent). A run recorded before a field was added is compared as if it
    had held the field's default."""
    defaults: dict[str, Any] = {}
    for spec_field in dataclasses.fields(spec_class):
        key = f"{prefix}{spec_field.name}"
        if isinstance(spec_field.type, type) and dataclasses.is_dataclass(spec_field.type):
            defaults.update(default_settings(spec_field.type, f"{key}."))
        elif spec_field.default_factory is not dataclasses.MISSING:
            defaults[key] = json.loads(json.dumps(spec_field.default_factory()))
        elif spec_field.default is not dataclasses.MISSING and spec_field.default != "???":
            defaults[key] = spec_field.default
    return {key: value for key, value in defaults.items() if not _excluded(key, NOT_IDENTITY)}


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Identity settings whose values differ: key -> (recorded value, current value), None where absent.

    A key the recorded run lacks is not a difference when the current value is the field's default:
    the field was added to the specs since, and its default keeps the old behaviour."""
    defaults = default_settings()
    found: dict[str, tuple[Any, Any]] = {}
    for key in sorted(set(recorded) | set(current)):
        if key in recorded and key in current:
            if recorded[key] != current[key]:
                found[key] = (recorded[key], current[key])
        elif key in current:
            if not (key in defaults and defaults[key] == current[key]):
                found[key] = (None, current[key])
        else:
            found[key] = (recorded[key], None)
    return found


def distinguishing_settings(specs: Sequence[RunSpec | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """For each spec, the identity settings whose values are not the same in all of `specs` (a key
    a spec lacks has the value None there): what tells each run apart from the others."""
    identities = [identity_settings(spec) for spec in specs]
    keys = sorted({key for identity in identities for key in identity})
    varying = [key for key in keys if len({_canonical(identity.get(key)) for identity in identities}) > 1]
    return [{key: identity.get(key) for key in varying} for identity in identities]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _digest(value: Any, length: int = 8) -> str:
    return hashlib.sha256(_canonical(value).encode()).hexdigest()[:length]


def value_text(value: Any) -> str:
    """A setting's value in a folder name: as written when short and path-safe, else `~` + a hash."""
    text = value if isinstance(value, str) else _canonical(value)
    if text and len(text) <= MAX_VALUE_CHARS and path_safe(text) == text:
        return text
    return "~" + _digest(value)


def run_name(spec: RunSpec | Mapping[str, Any], reference: RunSpec | Mapping[str, Any]) -> str:
    """The folder name of `spec`: scenario, adaptation and model, then the identity settings that
    differ from `reference` (the spec the same config groups give without key overrides)."""
    record = _record(spec)
    base = "_".join((record["scenario"]["name"], record["adaptation"]["name"], path_safe(str(record["model"]["name"]))))
    changed = {
        key: current
        for key, (_, current) in differences(identity_settings(reference), identity_settings(spec)).items()
        if key not in NAMED_IN_BASE
    }
    suffix = ",".join(f"{path_safe(key)}={value_text(value)}" for key, value in changed.items())
    name = f"{base}_{suffix}" if suffix else base
    if len(name) <= MAX_RUN_NAME_CHARS:
        return name
    digest = "~" + _digest([base, changed], 10)
    return f"{name[: MAX_RUN_NAME_CHARS - len(digest) - 1]}_{digest}"
