"""Config groups compose into a frozen RunSpec; bad overrides fail with Hydra's message, no traceback."""

import dataclasses
from pathlib import Path

import pytest
from conftest import REPO, run_cli

from crfm_eval.config_schema import compose_run_spec as compose_packaged
from crfm_eval.config_schema import path_safe
from crfm_eval.specs import RunSpec


def compose_run_spec(*overrides: str) -> RunSpec:
    return compose_packaged(*overrides, config_dir=REPO / "conf")


def test_default_composition_has_the_documented_top_level_keys():
    spec = compose_run_spec()
    assert spec.suite == "default"
    assert spec.output_dir == "outputs"
    assert spec.seed == 0
    assert spec.scenario.name == "boolq"
    assert spec.scenario._target_ == "crfm_eval.scenarios.boolq.BoolQScenario"
    assert spec.metric == {}  # the adaptation method brings its own metric sets
    assert spec.model.name == "local/smollm2-135m-instruct-q4_1"  # the embedded model is the default
    assert spec.model.args["n_ctx"] == spec.model.max_sequence_length
    assert spec.run_name == "boolq_5shot_local--smollm2-135m-instruct-q4_1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 3  # type: ignore[misc]


def test_5shot_is_helms_boolq_format_and_0shot_differs_only_in_examples():
    five = compose_run_spec("adaptation=5shot").adaptation
    assert (five.input_prefix, five.input_suffix, five.output_prefix, five.output_suffix) == (
        "Passage: ",
        "\n",
        "Answer: ",
        "\n",
    )
    assert (five.max_train_instances, five.max_tokens, five.temperature, five.stop_sequences) == (5, 5, 0.0, ["\n"])
    zero = compose_run_spec("adaptation=0shot").adaptation
    assert zero.max_train_instances == 0
    assert dataclasses.replace(zero, name="5shot", max_train_instances=5) == five


def test_overrides_reach_the_spec_with_their_types():
    spec = compose_run_spec("adaptation.max_train_instances=2", "max_eval_instances=null", "seed=7", "data_dir=/tmp/d")
    assert spec.adaptation.max_train_instances == 2
    assert spec.max_eval_instances is None
    assert (spec.seed, spec.data_dir) == (7, "/tmp/d")
    assert compose_run_spec("data_dir=relative/d").data_dir == str(Path("relative/d").absolute())


def test_path_safe_names_one_folder():
    assert path_safe("openai/gpt-4o mini") == "openai--gpt-4o--mini"


@pytest.mark.parametrize(
    "override, expected",
    [
        ("adaptation.max_train_instances=abc", "could not be converted to Integer"),
        ("adaptation=7shot", "Could not find 'adaptation/7shot'"),
        ("no_such_key=1", "Could not override 'no_such_key'"),
        ("adaptation.no_such_key=1", "Key 'no_such_key' not in 'AdaptationSpec'"),
    ],
)
def test_bad_override_fails_with_one_message_and_no_traceback(tmp_path, override, expected):
    completed = run_cli(override, f"output_dir={tmp_path}", cwd=tmp_path)
    assert completed.returncode != 0
    assert expected in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout
    assert not (tmp_path / "runs").exists()


def test_help_lists_groups_and_options(tmp_path):
    completed = run_cli("--help", cwd=tmp_path)
    assert completed.returncode == 0
    groups = (
        "adaptation: 0shot, 5shot, bbq, bbq_separate, continuation, imdb, language_modeling, lm_eval_boolq, mc_calibrated, mc_joint, mc_separate, mmlu, mmlu_separate",
        "execution: local",
        "scenario: bbq, boolq",
    )
    for line in (*groups, "model: gemma-3-270m, gpt-4o-mini, jamba-mini, openai-compatible, simple, smollm2-135m"):
        assert line in completed.stdout


def test_console_script_is_the_same_program(tmp_path):
    import shutil
    import subprocess

    script = shutil.which("crfm-eval")
    assert script, "the crfm-eval console script is not installed: pip install -e ."
    completed = subprocess.run([script, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert "adaptation: 0shot, 5shot" in completed.stdout
