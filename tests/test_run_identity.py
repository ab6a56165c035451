"""A run never silently replaces a different run: two runs that differ in anything that can change a
number get different folders, named by the settings that differ from the defaults of their config
groups; settings that change no number make no new run and do not re-run a complete one."""

import json
from pathlib import Path

import pytest
from conftest import REPO, run_cli, run_folder

from crfm_eval.config_schema import compose_run_spec as compose_packaged
from crfm_eval.runner.identity import (
    MAX_RUN_NAME_CHARS,
    distinguishing_settings,
    identity_settings,
)
from crfm_eval.runner.readers import iter_request_states
from crfm_eval.specs import RunSpec
from crfm_eval.validation import FOLDER_NAME

SUITE = Path("outputs/runs/default")
SMALL = ("model=simple", "max_eval_instances=6", "execution.progress=false")


def compose(*overrides: str) -> RunSpec:
    return compose_packaged(*overrides, config_dir=REPO / "conf")


def _load(path: Path):
    return json.loads(path.read_text())


def test_a_sweep_over_seeds_leaves_one_folder_per_seed(tmp_path, shared_data):
    completed = run_cli("-m", *SMALL, f"data_dir={shared_data}", "seed=0,1", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    summary = _load(tmp_path / SUITE / "summary.json")
    assert summary["counts"] == {"complete": 2, "partial": 0, "failed": 0}
    names = sorted(run["run_name"] for run in summary["runs"])
    assert len(names) == 2 and "seed=1" in names[1] and "seed" not in names[0]  # seed 0 is the default
    seeds = {_load(tmp_path / SUITE / name / "run_spec.json")["seed"] for name in names}
    instances = [{s["instance"]["id"] for s in iter_request_states(tmp_path / SUITE / name)} for name in names]
    assert seeds == {0, 1} and instances[0] != instances[1]  # both runs are on disk, each its own


@pytest.mark.parametrize(
    "override, shown",
    [
        ("seed=3", "seed=3"),
        ("max_eval_instances=7", "max_eval_instances=7"),
        ("max_eval_instances=null", "max_eval_instances=null"),
        ("adaptation.num_train_trials=2", "adaptation.num_train_trials=2"),
        ("adaptation.temperature=0.7", "adaptation.temperature=0.7"),
        ("adaptation.instructions='Answer yes or no.'", "adaptation.instructions=~"),
        ("adaptation.input_prefix='Text: '", "adaptation.input_prefix=~"),
        ("data_dir=/somewhere/else", "data_dir=~"),
        ("model.max_sequence_length=600", "model.max_sequence_length=600"),
        ("+model.args.answer_bias=1", "model.args.answer_bias=1"),
    ],
)
def test_a_setting_that_can_change_a_number_is_in_the_name(override, shown):
    default = compose("model=simple").run_name
    name = compose("model=simple", override).run_name
    assert default == "boolq_5shot_simple--deterministic"
    assert name.startswith(default + "_") and shown in name
    assert FOLDER_NAME.fullmatch(name) and len(name) <= MAX_RUN_NAME_CHARS


def test_different_prompt_pieces_give_different_names():
    names = {
        compose("model=simple", f"adaptation.instructions='{text}'").run_name
        for text in ("Answer yes or no.", "Answer Yes or No.", "Reply with yes or no.")
    }
    assert len(names) == 3


@pytest.mark.parametrize(
    "override",
    [
        "execution.num_threads=1",
        "execution.progress=false",
        "execution.cache_dir=./outputs/cache/",
        "execution=proxy",
        "force=true",
        "suite=nightly",
        "output_dir=elsewhere",
        "model.args.latency=0.0",
    ],
)
def test_a_setting_that_changes_no_number_keeps_the_name(override):
    assert compose("model=simple", override).run_name == compose("model=simple").run_name


def test_two_spellings_of_one_data_folder_are_one_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    assert compose("model=simple", "data_dir=./data/").run_name == compose("model=simple").run_name
    assert compose("model=simple", f"data_dir={tmp_path}/data").run_name == compose("model=simple").run_name


def test_names_stay_bounded_and_distinct():
    long_a = compose("model=simple", "adaptation.instructions=" + "a" * 500, "+model.args.extra_one=" + "b" * 300)
    many = [f"+model.args.setting_number_{index}={index}" for index in range(20)]
    long_b, long_c = compose("model=simple", *many), compose("model=simple", *many, "seed=9")
    for spec in (long_a, long_b, long_c):
        assert len(spec.run_name) <= MAX_RUN_NAME_CHARS and FOLDER_NAME.fullmatch(spec.run_name)
        assert spec.run_name.startswith("boolq_5shot_simple--deterministic_")
    assert long_b.run_name != long_c.run_name


def test_settings_that_change_no_number_do_not_rerun_a_complete_run(tmp_path, shared_data):
    first = run_cli(*SMALL, f"data_dir={shared_data}", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    (run_dir,) = [path for path in (tmp_path / SUITE).iterdir() if path.is_dir()]
    manifest = (run_dir / "manifest.json").read_bytes()
    again = run_cli(
        *SMALL,
        f"data_dir={shared_data}",
        "execution.num_threads=1",
        "execution.cache_dir=./outputs/cache/",
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert "already complete, skipping" in again.stdout + again.stderr
    assert (run_dir / "manifest.json").read_bytes() == manifest
    assert [path for path in (tmp_path / SUITE).iterdir() if path.is_dir()] == [run_dir]


def test_a_folder_holding_a_different_run_is_refused_not_replaced(tmp_path, shared_data):
    common = (*SMALL, f"data_dir={shared_data}", "run_name=mine")
    first = run_cli(*common, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    run_dir = tmp_path / SUITE / "mine"
    files = {path: path.read_bytes() for path in run_dir.iterdir() if path.suffix == ".json"}
    refused = run_cli(*common, "seed=1", cwd=tmp_path)
    output = refused.stdout + refused.stderr
    assert refused.returncode == 1 and "Traceback" not in output
    assert f"{Path('outputs/runs/default/mine')} holds a different run (seed: 0 there, 1 now)" in output
    assert "run_name=" in output and "force=true" in output
    assert {path: path.read_bytes() for path in files} == files  # untouched, status.json included
    replaced = run_cli(*common, "seed=1", "force=true", cwd=tmp_path)
    assert replaced.returncode == 0, replaced.stderr
    assert _load(run_dir / "run_spec.json")["seed"] == 1


def test_identity_settings_read_a_spec_or_its_run_spec_json(tmp_path, shared_data):
    completed = run_cli(*SMALL, f"data_dir={shared_data}", "seed=2", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    recorded = _load(run_folder(tmp_path / "outputs") / "run_spec.json")
    composed = compose(*SMALL, f"data_dir={shared_data}", "seed=2")
    settings = identity_settings(recorded)
    assert settings == identity_settings(composed)
    assert settings["seed"] == 2 and settings["adaptation.max_tokens"] == 5 and settings["model.args.latency"] == 0.0
    assert not any(key.startswith(("execution", "output_dir", "suite", "run_name", "force")) for key in settings)


def test_distinguishing_settings_name_what_differs_between_runs():
    specs = [compose("model=simple"), compose("model=simple", "seed=1"), compose("model=simple", "adaptation=0shot")]
    assert distinguishing_settings(specs) == [
        {"adaptation.max_train_instances": 5, "adaptation.name": "5shot", "seed": 0},
        {"adaptation.max_train_instances": 5, "adaptation.name": "5shot", "seed": 1},
        {"adaptation.max_train_instances": 0, "adaptation.name": "0shot", "seed": 0},
    ]
