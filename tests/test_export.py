"""`crfm_eval export --format helm|lm-eval` on a real BoolQ run, checked against HELM's own stats.json
(../shared/fixtures/helm_stats_boolq_simple_model1.json) and lm-eval 0.4's documented layout."""

import hashlib
import json
import math
import re
import statistics
from pathlib import Path

import pytest
from conftest import run_cli

from crfm_eval.export.helm import export_helm
from crfm_eval.export.lm_eval import export_lm_eval
from crfm_eval.runner.readers import iter_per_instance_stats, iter_request_states, read_stats

TRIALS, INSTANCES = 2, 20
HELM_ADAPTER_SPEC_FIELDS = {  # helm/benchmark/adaptation/adapter_spec.py (crfm-helm 0.5)
    "method", "global_prefix", "global_suffix", "instructions", "input_prefix", "input_suffix",
    "reference_prefix", "reference_suffix", "output_prefix", "output_suffix", "instance_prefix",
    "substitutions", "max_train_instances", "max_eval_instances", "num_outputs", "num_train_trials",
    "num_trials", "sample_train", "model_deployment", "model", "temperature", "max_tokens",
    "stop_sequences", "random", "multi_label", "image_generation_parameters", "eval_splits",
}  # fmt: skip
HELM_REQUEST_STATE_REQUIRED = {  # helm/benchmark/adaptation/request_state.py: fields without defaults
    "instance", "train_trial_index", "request", "result", "num_train_instances", "prompt_truncated",
}  # fmt: skip
SAMPLE_KEYS = {  # lm_eval/evaluator.py: the logged sample, before the metric values
    "doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
    "doc_hash", "prompt_hash", "target_hash",
}  # fmt: skip
DATE = r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(\.\d+)?"


@pytest.fixture(scope="module")
def run(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("export")
    completed = run_cli(
        "scenario=boolq",
        "adaptation=5shot",
        "model=simple",
        f"max_eval_instances={INSTANCES}",
        f"adaptation.num_train_trials={TRIALS}",
        "adaptation.sampling=helm",
        f"data_dir={shared_data}",
        cwd=workdir,
    )
    assert completed.returncode == 0, completed.stderr
    run_dir = next((workdir / "outputs/runs/default").glob("*/run_spec.json")).parent
    return workdir, run_dir


def export(run, fmt: str, name: str) -> Path:
    workdir, run_dir = run
    out = workdir / name
    completed = run_cli("export", "--format", fmt, str(run_dir), str(out), cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    return out


@pytest.fixture(scope="module")
def helm_out(run):
    return export(run, "helm", "helm_out")


@pytest.fixture(scope="module")
def lm_eval_out(run):
    return export(run, "lm-eval", "lm_eval_out")


def load(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def own_stats(run):
    return read_stats(run[1])


def own_per_instance(run):
    return list(iter_per_instance_stats(run[1]))


def own_states(run):
    return list(iter_request_states(run[1]))


def test_our_stats_carry_sum_squared_and_variance(run):
    per_instance = own_per_instance(run)
    by_instance: dict[str, list[float]] = {}
    for entry in per_instance:
        by_instance.setdefault(entry["instance_id"], []).append(entry["values"]["num_prompt_tokens"])
    means = [sum(values) / len(values) for values in by_instance.values()]
    stat = next(s for s in own_stats(run) if s["name"] == "num_prompt_tokens")
    assert stat["count"] == INSTANCES and stat["sum_squared"] == pytest.approx(sum(m * m for m in means))
    assert stat["variance"] == pytest.approx(statistics.variance(means)) and stat["stddev"] ** 2 == pytest.approx(
        stat["variance"]
    )


def test_the_run_used_helms_examples(run, shared_fixtures):
    recorded = load(shared_fixtures / "helm_boolq_5shot.json")
    states = own_states(run)
    trial0 = [f"train-{line}" for line in recorded["in_context_examples_trial0"]["train_line_indices"]]
    assert states[0]["train_instance_ids"] == trial0
    assert (
        states[0]["instance"]["id"]
        == f"valid-{recorded['eval_subsample']['first_20_dev_line_indices_in_draw_order'][0]}"
    )


def _schemas(stats: list[dict]) -> dict[frozenset, dict[str, type]]:
    """Key set -> {key: type} of HELM's Stats (one for a Stat with values, one for an empty one)."""
    schemas: dict[frozenset, dict[str, type]] = {}
    for stat in stats:
        schema = {key: type(value) for key, value in stat.items()}
        assert schemas.setdefault(frozenset(stat), schema) == schema  # HELM itself is consistent
    return schemas


def test_helm_stats_have_helms_keys_and_types(helm_out, shared_fixtures):
    schemas = _schemas(load(shared_fixtures / "helm_stats_boolq_simple_model1.json"))
    exported = load(helm_out / "stats.json") + [
        stat for entry in load(helm_out / "per_instance_stats.json") for stat in entry["stats"]
    ]
    assert len(exported) > 100
    for stat in exported:
        assert frozenset(stat) in schemas, stat
        assert {key: type(value) for key, value in stat.items()} == schemas[frozenset(stat)], stat
        assert set(stat["name"]) <= {"name", "split", "sub_split", "perturbation"} and stat["name"]["split"] == "valid"


def test_helm_stats_are_helms_aggregation(helm_out, run):
    """HELM averages per train trial, then over trials (count = trials), with population variance."""
    ours = {s["name"]: s for s in own_stats(run)}
    helm = {s["name"]["name"]: s for s in load(helm_out / "stats.json")}
    per_instance = own_per_instance(run)
    for name in ("exact_match", "num_prompt_tokens"):
        trial_means = [
            statistics.fmean(e["values"][name] for e in per_instance if e["train_trial_index"] == trial)
            for trial in range(TRIALS)
        ]
        stat = helm[name]
        assert stat["count"] == TRIALS and stat["mean"] == pytest.approx(ours[name]["mean"])
        assert stat["variance"] == pytest.approx(statistics.pvariance(trial_means))
        assert (stat["min"], stat["max"]) == pytest.approx((min(trial_means), max(trial_means)))
    assert helm["num_instances"]["mean"] == INSTANCES


def test_helm_run_files_have_helms_fields(helm_out, run):
    run_spec = load(helm_out / "run_spec.json")
    assert set(run_spec) == {"name", "scenario_spec", "adapter_spec", "metric_specs", "data_augmenter_spec", "groups"}
    assert run_spec["groups"] == ["boolq"] and set(run_spec["scenario_spec"]) == {"class_name", "args"}
    assert set(run_spec["adapter_spec"]) <= HELM_ADAPTER_SPEC_FIELDS
    assert run_spec["adapter_spec"]["num_train_trials"] == TRIALS
    scenario = load(helm_out / "scenario.json")
    assert scenario["name"] == "boolq" and {"description", "tags"} <= set(scenario)
    state = load(helm_out / "scenario_state.json")
    assert state["adapter_spec"] == run_spec["adapter_spec"]
    ours = own_states(run)
    assert len(state["request_states"]) == len(ours) == INSTANCES * TRIALS
    for exported, original in zip(state["request_states"], ours, strict=True):
        assert HELM_REQUEST_STATE_REQUIRED <= set(exported)
        assert exported["instance"]["input"] == {"text": original["instance"]["input"]}
        assert exported["instance"]["references"][0]["output"] == {
            "text": original["instance"]["references"][0]["output"]
        }
        assert exported["request"]["prompt"] == original["request"]["prompt"]
        completion = exported["result"]["completions"][0]
        assert completion["text"] == original["result"]["completions"][0]["text"]
        assert set(completion["tokens"][0]) == {"text", "logprob"}
    per_instance = load(helm_out / "per_instance_stats.json")
    assert len(per_instance) == INSTANCES * TRIALS
    assert set(per_instance[0]) == {"instance_id", "train_trial_index", "stats"}


def test_lm_eval_results_and_samples(lm_eval_out, run):
    folder = lm_eval_out / "simple__deterministic"  # lm-eval's sanitized model name
    (results_path,) = folder.glob("results_*.json")
    (samples_path,) = folder.glob("samples_*.jsonl")
    assert re.fullmatch(f"results_{DATE}\\.json", results_path.name)
    # lm-eval's own file-name helpers: task between the first and last "_", date after the last.
    name = samples_path.name
    assert name[name.find("_") + 1 : name.rfind("_")] == "boolq"
    assert name[name.rfind("_") + 1 :].replace(".jsonl", "") == results_path.stem.split("_", 1)[1]

    results = load(results_path)
    assert {"results", "configs", "config", "versions", "n-samples", "n-shot", "group_subtasks"} <= set(results)
    assert results["n-samples"]["boolq"]["effective"] == INSTANCES and results["n-shot"]["boolq"] == 5
    assert results["config"]["model_args"] == "model=simple/deterministic"
    assert results["configs"]["boolq"]["output_type"] == "generate_until"

    samples = [json.loads(line) for line in samples_path.read_text(encoding="utf-8").splitlines()]
    assert len(samples) == INSTANCES * TRIALS
    prompts = [s["request"]["prompt"] for s in own_states(run)]
    for sample, prompt in zip(samples, prompts, strict=True):
        assert SAMPLE_KEYS <= set(sample) and set(sample["metrics"]) <= set(sample)
        assert sample["arguments"]["gen_args_0"]["arg_0"] == prompt
        assert sample["arguments"]["gen_args_0"]["arg_1"]["until"] == ["\n"]
        assert sample["prompt_hash"] == hashlib.sha256(prompt.encode()).hexdigest()
        assert (
            sample["target"] in ("Yes", "No")
            and sample["target_hash"] == hashlib.sha256(sample["target"].encode()).hexdigest()
        )
        assert all(isinstance(text, str) for texts in sample["resps"] for text in texts)
        assert sample["filtered_resps"] == [texts[0] for texts in sample["resps"]]
        assert sample["exact_match"] == float(sample["filtered_resps"][0].strip() == sample["target"])
        assert sample["doc_id"] == int(sample["doc"]["id"].split("-")[1])

    # The aggregate is the mean over documents (each document's trials averaged first), with
    # lm-eval's standard error: sample standard deviation / sqrt(n).
    per_doc: dict[int, list[float]] = {}
    for sample in samples:
        per_doc.setdefault(sample["doc_id"], []).append(sample["exact_match"])
    doc_means = [statistics.fmean(values) for values in per_doc.values()]
    task = results["results"]["boolq"]
    assert task["exact_match,none"] == pytest.approx(statistics.fmean(doc_means))
    assert task["exact_match_stderr,none"] == pytest.approx(statistics.stdev(doc_means) / math.sqrt(len(doc_means)))


def test_exporting_again_writes_the_same_bytes(run, helm_out, lm_eval_out):
    workdir, run_dir = run
    for exporter, first in ((export_helm, helm_out), (export_lm_eval, lm_eval_out)):
        again = workdir / f"again_{first.name}"
        exporter(run_dir, again)
        files = sorted(path.relative_to(first) for path in first.rglob("*") if path.is_file())
        assert files == sorted(path.relative_to(again) for path in again.rglob("*") if path.is_file())
        for relative in files:
            assert (first / relative).read_bytes() == (again / relative).read_bytes(), relative


def test_export_of_a_folder_that_is_not_a_run_says_so(run, tmp_path):
    workdir, run_dir = run
    completed = run_cli("export", "--format", "helm", str(tmp_path), str(tmp_path / "out"), cwd=workdir)
    assert completed.returncode == 1
    assert "is not a run folder (no run_spec.json)" in completed.stderr and "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()
