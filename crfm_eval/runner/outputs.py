"""The files of a run folder: every one JSON, written atomically, readable with pandas."""

import dataclasses
from pathlib import Path
from typing import Any

from crfm_eval.json_io import to_jsonable, write_json
from crfm_eval.redaction import REDACTED
from crfm_eval.specs import RunSpec
from crfm_eval.states import PerInstanceStats, ScenarioState, Stat

RUN_SPEC_FILE = "run_spec.json"
SCENARIO_STATE_FILE = "scenario_state.json"
PER_INSTANCE_STATS_FILE = "per_instance_stats.json"
STATS_FILE = "stats.json"
EXECUTION_STATS_FILE = "execution_stats.json"
MANIFEST_FILE = "manifest.json"


def without_secrets(run_spec: RunSpec) -> RunSpec:
    """The spec as it may be written to disk: the proxy key replaced by a placeholder."""
    if run_spec.execution.api_key is None:
        return run_spec
    return dataclasses.replace(run_spec, execution=dataclasses.replace(run_spec.execution, api_key=REDACTED))


def run_dir_of(run_spec: RunSpec) -> Path:
    return Path(run_spec.output_dir) / "runs" / run_spec.suite / run_spec.run_name


def write_run_outputs(
    run_dir: Path,
    run_spec: RunSpec,
    scenario_state: ScenarioState,
    per_instance_stats: list[PerInstanceStats],
    stats: list[Stat],
    execution_stats: list[Stat],
) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / RUN_SPEC_FILE, to_jsonable(without_secrets(run_spec)))
    write_json(run_dir / SCENARIO_STATE_FILE, to_jsonable(scenario_state), compact=True)
    write_json(run_dir / PER_INSTANCE_STATS_FILE, to_jsonable(per_instance_stats))
    write_json(run_dir / STATS_FILE, to_jsonable(stats))
    write_json(run_dir / EXECUTION_STATS_FILE, to_jsonable(execution_stats))


def write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """Written last: its presence marks a run whose outputs are complete."""
    write_json(run_dir / MANIFEST_FILE, manifest)
