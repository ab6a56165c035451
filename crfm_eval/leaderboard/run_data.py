"""One run folder -> the instance viewer's data files and the run's digest, in one streaming pass.

This is the only place the site reads a run's large files (request states and per-instance
stats, through crfm_eval.runner.readers), so its cost is the site's cost per run. It writes:

- `list.js`: one row per request state, in run order: the instance (an index into the instance
  table), the train trial, the start of the first completion, and every per-instance value.
  It is what the viewer filters, searches and sorts.
- `shard-<n>.js`: the details of SHARD_SIZE states each (prompt, request, result, completions),
  loaded only when a reader opens an instance.
- the instance table (ids, splits, inputs, references), named by a hash of its content and
  written once for all the runs asked the same instances (typically every model of a scenario).

Prompts are stored without repeating what they share: the part in common with the previous
prompt, cut at a line end (the instructions and in-context examples, identical for a train
trial), is kept once per shard, and the eval instance's input, already in the instance table,
is not repeated either. A 5-shot BoolQ prompt shrinks from ~3.3 KB to a few dozen bytes.
Every piece is a whole string (no offsets), so the viewer rebuilds the prompt exactly, whatever
the characters (Python and JavaScript count string offsets differently).

Files are JavaScript (`crfmEval.receive({...});`) rather than JSON so that the viewer loads them
with a script element, which also works from a folder opened from disk (file://), where a
browser refuses fetch(). The data is JSON inside; it is never parsed as HTML by anyone.

The digest is what the summary pages need from the run (spec, stats, manifest, status, metric
metadata, per-instance means for the significance tests); it is small and cached with the files.
"""

import hashlib
import json
import os
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator, Optional

import orjson

from crfm_eval.runner import readers

SHARD_SIZE = 100
"""Request states per detail file: a few dozen KB each, loaded when an instance is opened."""

PREDICTION_CHARS = 300
"""The list keeps this much of the first completion (the detail file has it all)."""

SEARCH_SNIPPET_CHARS = 240
"""Characters of an instance's input put in the site's search index (start and end of the text)."""

MIN_SHARED_PREFIX = 64
"""A shared prompt start shorter than this is not worth a reference."""

DIGEST_FORMAT = 1


def json_bytes(data: Any) -> bytes:
    """Compact JSON as UTF-8, by orjson (4x the json module's speed).

    orjson refuses text with a lone surrogate (model output can hold one; UTF-8 cannot): the json
    module then writes it, the surrogate as its JSON escape, which is what it means in a JSON string.
    """
    try:
        return orjson.dumps(data)
    except TypeError:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8", "backslashreplace")


def js_message(message: dict[str, Any]) -> bytes:
    """`crfmEval.receive(<JSON>);`: a data file the viewer loads with a script element."""
    return b"crfmEval.receive(" + json_bytes(message) + b");\n"


def _write(path: Path, content: bytes) -> None:
    # A name of its own: two worker processes may write the same shared instance table at once
    # (the same bytes); with one temporary name, the second rename finds its file gone.
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    temporary.write_bytes(content)
    temporary.replace(path)


class PromptPacker:
    """Splits prompts into a shared start (kept once per shard) and the rest, minus the instance's input."""

    def __init__(self) -> None:
        self.prefixes: list[str] = []
        self._current: str = ""
        self._current_index: Optional[int] = None
        self._previous: str = ""

    def new_shard(self) -> None:
        self.prefixes = []
        self._current_index = None

    def _use_current(self) -> int:
        if self._current_index is None:
            self.prefixes.append(self._current)
            self._current_index = len(self.prefixes) - 1
        return self._current_index

    def pack(self, prompt: str, text_input: str) -> list[Any]:
        """[prefix index or -1, head] or [prefix index or -1, head, tail] (then the input goes between)."""
        index = -1
        rest = prompt
        if self._current and prompt.startswith(self._current):
            index = self._use_current()
            rest = prompt[len(self._current) :]
        else:
            cut = prompt.rfind("\n", 0, _common_prefix_length(prompt, self._previous)) + 1
            if cut >= MIN_SHARED_PREFIX:
                self._current, self._current_index = prompt[:cut], None
                index = self._use_current()
                rest = prompt[cut:]
        self._previous = prompt
        at = rest.find(text_input) if text_input else -1
        if at < 0:
            return [index, rest]
        return [index, rest[:at], rest[at + len(text_input) :]]


def _common_prefix_length(a: str, b: str) -> int:
    """Length of the longest common start of `a` and `b` (binary search on slices: C-speed compares)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _snippet(text: str) -> str:
    if len(text) <= SEARCH_SNIPPET_CHARS:
        return text
    half = SEARCH_SNIPPET_CHARS // 2
    return text[:half] + " … " + text[-half:]


def _detail(state: dict[str, Any], packer: PromptPacker, text_input: str) -> dict[str, Any]:
    """Everything about one request state but its instance (in the table) and the completion tokens.

    Made from `state` itself (a freshly parsed record nobody else holds): no copy per state.
    """
    state.pop("instance", None)
    request = state.pop("request", None) or {}
    result = state.pop("result", None)
    completions = (result.pop("completions", None) if result else None) or []
    for completion in completions:
        completion["num_tokens"] = len(completion.pop("tokens", None) or [])
    state["prompt"] = packer.pack(request.pop("prompt", ""), text_input)
    state["request"] = request
    state["result"] = result
    state["completions"] = completions
    return state


def _per_instance(
    run_dir: Path,
) -> tuple[dict[tuple[str, int], dict[str, float]], dict[str, str], list[str], set[str]]:
    """(instance id, trial) -> values; instance id -> split; every value name; the names whose values
    are all 0 or 1."""
    values: dict[tuple[str, int], dict[str, float]] = {}
    splits: dict[str, str] = {}
    names: set[str] = set()
    non_binary: set[str] = set()
    for entry in readers.iter_per_instance_stats(run_dir):
        entry_values = entry.get("values") or {}
        instance_id = str(entry.get("instance_id"))
        values[(instance_id, int(entry.get("train_trial_index") or 0))] = entry_values
        splits[instance_id] = str(entry.get("split"))
        for name, value in entry_values.items():
            names.add(name)
            if value not in (0, 1):
                non_binary.add(name)
    return values, splits, sorted(names), names - non_binary


def _mean(found: list[float]) -> Optional[float]:
    return sum(found) / len(found) if found else None


def _instance_means(
    splits_of: dict[str, str], values: dict[tuple[str, int], dict[str, float]], metrics: list[str]
) -> dict[str, dict[str, Any]]:
    """Per split: instance ids (sorted) and, per metric, each instance's mean over its train trials
    (the same arithmetic as stats.json: a plain sum over the trials divided by their number)."""
    trials: dict[str, list[dict[str, float]]] = defaultdict(list)
    for (instance_id, _trial), entry_values in values.items():
        trials[instance_id].append(entry_values)
    by_split: dict[str, list[str]] = defaultdict(list)
    for instance_id in sorted(trials):
        by_split[splits_of.get(instance_id, "?")].append(instance_id)
    result = {}
    for split, ids in sorted(by_split.items()):
        columns: dict[str, list[Optional[float]]] = {}
        for name in metrics:
            column = []
            for instance_id in ids:
                entries = trials[instance_id]
                if len(entries) == 1:  # one train trial: the value itself
                    value = entries[0].get(name)
                    column.append(None if value is None else float(value))
                else:
                    column.append(_mean([float(v) for entry in entries if (v := entry.get(name)) is not None]))
            if any(value is not None for value in column):
                columns[name] = column
        result[split] = {"ids": ids, "values": columns}
    return result


def process_run(run_dir: Path, data_dir: Path, instances_dir: Path) -> dict[str, Any]:
    """Write the viewer files of the complete run in `run_dir` to `data_dir` (its instance table to
    `instances_dir`, shared) and return the run's digest."""
    data_dir.mkdir(parents=True, exist_ok=True)
    instances_dir.mkdir(parents=True, exist_ok=True)
    suite, run_name = run_dir.parent.name, run_dir.name
    key = f"{suite}/{run_name}"
    values, splits_of, metrics, binary = _per_instance(run_dir)

    instances: dict[str, tuple[Any, str, list[Any], Any]] = {}
    rows: list[list[Any]] = []
    details: list[dict[str, Any]] = []
    packer = PromptPacker()
    shard = 0
    for state in readers.iter_request_states(run_dir):
        instance = state.get("instance") or {}
        instance_id = str(instance.get("id"))
        text_input = str(instance.get("input") or "")
        if instance_id not in instances:
            references = [[ref.get("output", ""), ref.get("tags") or []] for ref in instance.get("references") or []]
            instances[instance_id] = (instance.get("split"), text_input, references, instance.get("sub_split"))
        trial = int(state.get("train_trial_index") or 0)
        completions = (state.get("result") or {}).get("completions") or []
        prediction = str(completions[0].get("text", ""))[:PREDICTION_CHARS] if completions else None
        entry_values = values.get((instance_id, trial), {})
        rows.append([instance_id, trial, prediction, [entry_values.get(name) for name in metrics]])
        if not details:
            packer.new_shard()
        details.append(_detail(state, packer, text_input))
        if len(details) == SHARD_SIZE:
            _write_shard(data_dir, key, shard, packer, details)
            shard, details = shard + 1, []
    if details:
        _write_shard(data_dir, key, shard, packer, details)
        shard += 1

    ids = sorted(instances)
    table = {
        "ids": ids,
        "splits": [instances[i][0] for i in ids],
        "inputs": [instances[i][1] for i in ids],
        "references": [instances[i][2] for i in ids],
    }
    if any(instances[i][3] is not None for i in ids):  # parts of a split (e.g. MMLU's subjects)
        table["sub_splits"] = [instances[i][3] for i in ids]
    table_hash = hashlib.sha256(json_bytes(table)).hexdigest()[:20]
    table_path = instances_dir / f"{table_hash}.js"
    if not table_path.exists():
        _write(table_path, js_message({"kind": "instances", "hash": table_hash, "data": table}))
        snippets = [[i, _snippet(instances[i][1])] for i in ids]
        _write(instances_dir / f"{table_hash}.search.json", json_bytes(snippets))
    position = {instance_id: index for index, instance_id in enumerate(ids)}
    for row in rows:
        row[0] = position[row[0]]
    listing = {
        "metrics": metrics,
        "binary": sorted(binary),
        "shard_size": SHARD_SIZE,
        "instances": table_hash,
        "rows": rows,
    }
    _write(data_dir / "list.js", js_message({"kind": "list", "run": key, "data": listing}))
    return {
        "format": DIGEST_FORMAT,
        "key": key,
        "suite": suite,
        "run_name": run_name,
        "path": str(run_dir),
        "run_spec": readers.read_run_spec(run_dir) or {},
        "stats": readers.read_stats(run_dir),
        "execution_stats": readers.read_execution_stats(run_dir),
        "manifest": readers.read_manifest(run_dir) or {},
        "written_at": max((mtime for _, _, mtime in readers.record_signature(run_dir)), default=0) / 1e9,
        "status": readers.read_status(run_dir),
        "metric_info": readers.read_metric_info(run_dir),
        "instances": table_hash,
        "num_instances": len(ids),
        "num_states": len(rows),
        "num_shards": shard,
        "metrics": metrics,
        "binary_metrics": sorted(binary),
        "per_instance": _instance_means(splits_of, values, metrics),
    }


def _write_shard(data_dir: Path, key: str, number: int, packer: PromptPacker, details: list[dict[str, Any]]) -> None:
    message = {"kind": "shard", "run": key, "shard": number, "data": {"prefixes": packer.prefixes, "states": details}}
    _write(data_dir / f"shard-{number}.js", js_message(message))


def search_snippets(instances_dir: Path, table_hash: str) -> Iterator[tuple[str, str]]:
    """(instance id, text snippet) of every instance of a table, for the site's search index."""
    path = instances_dir / f"{table_hash}.search.json"
    if path.exists():
        for instance_id, snippet in readers.read_json(path):
            yield instance_id, snippet
