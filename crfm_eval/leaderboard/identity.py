"""Entries and their labels: what a reader compares, named by what tells it apart from the others.

An *entry* is a model under one adaptation with all its other settings, i.e. a run's identity
settings (those that can change a number: `crfm_eval.runner.identity`, which also names run
folders) minus the scenario's own (the scenario, its data). The same entry on several scenarios is
one competitor for the win rate.

Its label is `model · adaptation`, followed by every setting that differs between entries, e.g.
`simple/deterministic · 5shot · seed=1`, except a model's or an adaptation's own settings (its
context window, prompt pieces...) where its name already tells them. Two different entries
therefore never get the same label (they differ in some setting; if the names do not tell that
setting, the label shows it). Within one scenario, two runs of the same entry (the same settings
on other data, or re-run in another suite) are told apart by what differs between them, then by
suite and folder name.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from crfm_eval.runner.identity import identity_settings

SCENARIO_SETTINGS = ("scenario", "data_dir")
"""Settings that say what is evaluated rather than who: they make the table, not the entry."""

NAMED_CONFIGS = {"model.": "model.name", "adaptation.": "adaptation.name"}
"""A model's or an adaptation's own settings (context window, client, prompt pieces, number of
examples) are told by its name when every entry of that name has the same value; other settings
(seed, max_eval_instances, the metrics) are shown whenever entries differ in them."""


def _under(key: str, prefixes: Sequence[str]) -> bool:
    return any(key == prefix or key.startswith(prefix + ".") for prefix in prefixes)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else canonical(value)


@dataclass(frozen=True)
class Labels:
    """The entries of a set of runs, and how to call them."""

    entry_of: dict[str, str]
    """Run key -> entry label (the same for every run of the entry, whatever the scenario)."""
    row_of: dict[str, str]
    """Run key -> the label of its row in a scenario's table: the entry label, plus what tells the
    run apart from another run of the same entry in that table."""


def _short_keys(keys: list[str]) -> dict[str, str]:
    """Dotted keys as shown: the last part when no other key ends the same, else the whole key."""
    last = defaultdict(list)
    for key in keys:
        last[key.rsplit(".", 1)[-1]].append(key)
    return {key: key.rsplit(".", 1)[-1] if len(last[key.rsplit(".", 1)[-1]]) == 1 else key for key in keys}


def _distinguishing(settings: list[dict[str, Any]], named: dict[str, str]) -> list[str]:
    """Keys whose values differ among `settings`, but for those of a named config (see NAMED_CONFIGS)
    whose value is the same for every entry of the same name."""
    keys = sorted({key for item in settings for key in item})
    found = []
    for key in keys:
        if key in named.values() or len({canonical(item.get(key)) for item in settings}) < 2:
            continue
        name_key = next((name for prefix, name in named.items() if key.startswith(prefix)), None)
        if name_key is None:
            found.append(key)
            continue
        seen: dict[str, str] = {}
        for item in settings:
            if seen.setdefault(canonical(item.get(name_key)), canonical(item.get(key))) != canonical(item.get(key)):
                found.append(key)
                break
    return found


def _suffix(item: Mapping[str, Any], keys: list[str], shown: dict[str, str]) -> str:
    return "".join(f" · {shown[key]}={_value_text(item.get(key))}" for key in keys)


def make_labels(runs: Sequence[tuple[str, str, Mapping[str, Any]]]) -> Labels:
    """Labels of `runs`, given as (run key, table key, run_spec.json) — the table key being what
    groups runs into one table (the scenario)."""
    settings = {key: identity_settings(spec) for key, _, spec in runs}
    entries = {
        key: {k: v for k, v in item.items() if not _under(k, SCENARIO_SETTINGS)} for key, item in settings.items()
    }
    distinct = {canonical(item): item for item in entries.values()}
    keys = _distinguishing(list(distinct.values()), NAMED_CONFIGS)
    shown = _short_keys(keys)
    entry_of = {}
    for key, item in entries.items():
        base = f"{item.get('model.name', '?')} · {item.get('adaptation.name', '?')}"
        entry_of[key] = base + _suffix(item, keys, shown)

    row_of = dict(entry_of)
    tables: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, table, _ in runs:
        tables[(table, entry_of[key])].append(key)
    for clashing in tables.values():
        if len(clashing) < 2:
            continue
        scenario_keys = _distinguishing([settings[key] for key in clashing], {})
        scenario_shown = _short_keys(scenario_keys)
        for key in clashing:
            row_of[key] = entry_of[key] + _suffix(settings[key], scenario_keys, scenario_shown)
        counts = Counter(row_of[key] for key in clashing)
        for key in clashing:
            if counts[row_of[key]] > 1:  # identical settings (a rerun elsewhere): say where each is
                row_of[key] = f"{row_of[key]} ({key})"
    return Labels(entry_of, row_of)
