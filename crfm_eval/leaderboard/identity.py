"""Entries and their labels: what a reader compares, named by what tells it apart from the others.

An *entry* is a competitor: a model with the settings a reader chose to compare, the same entry on
every scenario. Scenarios come with their own default adaptation (BoolQ 5-shot generation, MMLU
HELM's joint multiple choice, IMDB its sentiment prompt) and metric sets, so a setting that differs
only *between* scenarios says how each scenario is evaluated, not who competes: it is not part of
the entry. A setting is part of it when it differs *within* some scenario's table (two adaptations
of BoolQ, seeds, max_eval_instances...). So `-m scenario=boolq,mmlu,imdb model=a,b` gives two
entries, `a` and `b`, each with a row on every scenario and a win rate across them; add `seed=0,1`
and there are four, `a · seed=0` and so on, matched across scenarios by those settings.

The settings come from the run identity (`crfm_eval.runner.identity`: those that can change a
number, the same that name run folders), minus the scenario's own (the scenario, its data). The
label is the model's name, the adaptation's name when adaptations differ within a scenario, then
every other setting that does, e.g. `simple/deterministic · 5shot · seed=1`; a model's or an
adaptation's own settings (context window, prompt pieces...) are left to its name when every
entry of that name has the same value. Two runs in one table therefore never share a label unless
all their entry settings are equal: then (the same entry on other data, or re-run in another
suite) what differs between them is added, then the suite and folder name.
"""

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from crfm_eval.runner.identity import distinguishing_settings, identity_settings

SCENARIO_SETTINGS = ("scenario", "data_dir")
"""Settings that say what is evaluated rather than who: they make the table, not the entry."""

MODEL, ADAPTATION = "model.name", "adaptation.name"

NAMED_CONFIGS = {"model.": MODEL, "adaptation.": ADAPTATION}
"""A model's or an adaptation's own settings (context window, client, prompt pieces, number of
examples) are told by its name when every entry of that name has the same value; other settings
(seed, max_eval_instances, the metrics) are shown whenever entries of one table differ in them."""


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
    entry_settings: tuple[str, ...] = ()
    """The settings (dotted keys) that make entries: those that differ within some table."""


def _short_keys(keys: Sequence[str]) -> dict[str, str]:
    """Dotted keys as shown: the last part when no other key ends the same, else the whole key."""
    last = defaultdict(list)
    for key in keys:
        last[key.rsplit(".", 1)[-1]].append(key)
    return {key: key.rsplit(".", 1)[-1] if len(last[key.rsplit(".", 1)[-1]]) == 1 else key for key in keys}


def _told_by_name(key: str, settings: Sequence[Mapping[str, Any]]) -> bool:
    """`key` is a named config's own setting and every entry of the same name has the same value."""
    name_key = next((name for prefix, name in NAMED_CONFIGS.items() if key.startswith(prefix)), None)
    if name_key is None or key == name_key:
        return False
    seen: dict[str, str] = {}
    for item in settings:
        if seen.setdefault(canonical(item.get(name_key)), canonical(item.get(key))) != canonical(item.get(key)):
            return False
    return True


def _varying_within_tables(specs_by_table: Mapping[str, Sequence[Mapping[str, Any]]]) -> set[str]:
    """Every setting whose values differ between the runs of at least one table."""
    varying: set[str] = set()
    for specs in specs_by_table.values():
        for distinguishing in distinguishing_settings(list(specs))[:1]:  # the same keys for every run
            varying.update(distinguishing)
    return varying


def _suffix(item: Mapping[str, Any], keys: Sequence[str], shown: Mapping[str, str]) -> str:
    return "".join(f" · {shown[key]}={_value_text(item.get(key))}" for key in keys)


def make_labels(runs: Sequence[tuple[str, str, Mapping[str, Any]]]) -> Labels:
    """Labels of `runs`, given as (run key, table key, run_spec.json) — the table key being what
    groups runs into one table (the scenario)."""
    specs = {key: spec for key, _, spec in runs}
    settings = {key: identity_settings(spec) for key, spec in specs.items()}
    entries = {
        key: {k: v for k, v in item.items() if not _under(k, SCENARIO_SETTINGS)} for key, item in settings.items()
    }
    by_table: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for _, table, spec in runs:
        by_table[table].append(spec)
    distinct = list({canonical(item): item for item in entries.values()}.values())
    varying = sorted(
        key
        for key in _varying_within_tables(by_table)
        if not _under(key, SCENARIO_SETTINGS) and key != MODEL and not _told_by_name(key, distinct)
    )
    with_adaptation = ADAPTATION in varying
    shown_keys = [key for key in varying if key != ADAPTATION]
    shown = _short_keys(shown_keys)
    entry_of = {}
    for key, item in entries.items():
        base = str(item.get(MODEL, "?")) + (f" · {item.get(ADAPTATION, '?')}" if with_adaptation else "")
        entry_of[key] = base + _suffix(item, shown_keys, shown)

    row_of = dict(entry_of)
    tables: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, table, _ in runs:
        tables[(table, entry_of[key])].append(key)
    for clashing in tables.values():
        if len(clashing) < 2:
            continue
        differing = sorted({k for found in distinguishing_settings([specs[key] for key in clashing]) for k in found})
        table_shown = _short_keys(differing)
        for key in clashing:
            row_of[key] = entry_of[key] + _suffix(settings[key], differing, table_shown)
        counts = Counter(row_of[key] for key in clashing)
        for key in clashing:
            if counts[row_of[key]] > 1:  # identical settings (a rerun elsewhere): say where each is
                row_of[key] = f"{row_of[key]} ({key})"
    return Labels(entry_of, row_of, tuple([MODEL, *varying]))
