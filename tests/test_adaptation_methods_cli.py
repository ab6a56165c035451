"""Every adaptation method from the command line on the simple model and real BoolQ: one sweep runs
them all, each brings its metric sets, a rerun from the cache writes the same bytes, and a method a
model cannot serve is refused in one sentence before anything runs."""

import json

import pytest
from conftest import run_cli

from crfm_eval.runner.readers import iter_request_states

METHODS = ("5shot", "mc_joint", "mc_separate", "mc_calibrated", "language_modeling", "lm_eval_boolq")
EXPECTED_STATS = {
    "5shot": {"exact_match", "quasi_exact_match", "num_completion_tokens"},
    "mc_joint": {"exact_match", "max_prob", "exact_match@2", "ece_10_bin", "selective_acc@10"},
    "mc_separate": {"exact_match", "acc_norm", "acc_norm_per_token", "exact_match@2", "ece_10_bin", "ece_1_bin"},
    "mc_calibrated": {"exact_match", "acc_norm", "max_prob", "ece_10_bin", "selective_cov_acc_area"},
    "language_modeling": {"logprob", "logprob_per_token", "perplexity", "bits_per_byte", "num_bytes"},
    "lm_eval_boolq": {"exact_match", "acc_norm", "ece_10_bin"},
}


def run_dirs(workdir):
    runs = workdir / "outputs" / "runs" / "default"
    found = {}
    for spec_file in runs.glob("*/run_spec.json"):
        found[json.loads(spec_file.read_text())["adaptation"]["name"]] = spec_file.parent
    return found


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("methods")
    command = (
        "-m", f"adaptation={','.join(METHODS)}", "model=simple", "max_eval_instances=10",
        f"data_dir={shared_data}", "execution.progress=false",
    )  # fmt: skip
    completed = run_cli(*command, cwd=workdir)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return workdir, command


def test_one_sweep_runs_every_method_with_its_metrics(sweep):
    workdir, _ = sweep
    dirs = run_dirs(workdir)
    assert set(dirs) == set(METHODS)
    for method, run_dir in dirs.items():
        stats = {s["name"] for s in json.loads((run_dir / "stats.json").read_text())}
        assert EXPECTED_STATS[method] <= stats, (method, EXPECTED_STATS[method] - stats)
        info = json.loads((run_dir / "metric_info.json").read_text())
        assert set(info) == stats | {s["name"] for s in json.loads((run_dir / "execution_stats.json").read_text())}
        assert all(entry["group"] for entry in info.values())
    separate_info = json.loads((dirs["mc_separate"] / "metric_info.json").read_text())
    assert separate_info["ece_10_bin"]["group"] == "calibration" and separate_info["ece_10_bin"]["lower_is_better"]
    assert separate_info["exact_match"]["group"] == "accuracy"


def test_lm_eval_boolq_prompts_are_lm_evals(sweep, shared_data):
    workdir, _ = sweep
    states = list(iter_request_states(run_dirs(workdir)["lm_eval_boolq"]))
    dev = [json.loads(line) for line in (shared_data / "boolq" / "dev.jsonl").read_text().splitlines()]
    assert len(states) == 20
    for state in states:
        row = dev[int(state["instance"]["id"].split("-")[1])]
        # SuperGLUE's passage, which lm-eval reads: "<title> -- <passage>".
        assert (
            state["request"]["prompt"] == f"{row['title']} -- {row['passage']}\nQuestion: {row['question']}?\nAnswer:"
        )
        assert state["request"]["max_tokens"] == 0
    assert [s["request"]["continuation"] for s in states[:2]] == [" no", " yes"]


def test_rerun_from_the_cache_gives_the_same_scores(sweep):
    workdir, command = sweep
    before = {method: (d / "stats.json").read_bytes() for method, d in run_dirs(workdir).items()}
    per_instance = {method: (d / "per_instance_stats.jsonl").read_bytes() for method, d in run_dirs(workdir).items()}
    completed = run_cli(*command, "force=true", cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    for method, run_dir in run_dirs(workdir).items():
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["num_model_calls"] == 0 and manifest["num_cache_hits"] == manifest["num_requests"], method
        assert (run_dir / "stats.json").read_bytes() == before[method], method
        assert (run_dir / "per_instance_stats.jsonl").read_bytes() == per_instance[method], method


def test_a_model_without_prompt_logprobs_is_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)  # no key needed: the refusal comes first
    completed = run_cli("adaptation=mc_separate", "model=gpt-4o-mini", f"data_dir={tmp_path / 'none'}", cwd=tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1 and "Traceback" not in output
    assert "cannot give the log-probability of a given text, which adaptation.method=" in output
    assert "it supports: generation, multiple_choice_joint." in output
    assert not (tmp_path / "outputs" / "cache").exists()  # no client, no cache: nothing was asked


def test_unknown_method_is_one_sentence_naming_the_known_ones(tmp_path):
    completed = run_cli("adaptation.method=multiple_choice", "model=simple", cwd=tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1 and "Traceback" not in output
    assert "adaptation.method='multiple_choice' is not a known method; use one of: generation, " in output


def test_the_run_page_draws_a_reliability_diagram_from_the_runs_values(sweep):
    from crfm_eval.leaderboard.reliability import reliability_section
    from crfm_eval.leaderboard.runs import load_run
    from crfm_eval.metrics.calibration import reliability_bins

    workdir, _ = sweep
    dirs = run_dirs(workdir)
    run = load_run(dirs["mc_calibrated"])
    section = reliability_section(run)
    confidence, correct = run.instance_values("max_prob", "valid"), run.instance_values("exact_match", "valid")
    bins = reliability_bins([confidence[i] for i in sorted(confidence)], [correct[i] for i in sorted(confidence)])
    assert section.startswith("## Calibration") and section.count("<circle") == len(bins) >= 1
    for b in bins:
        assert f'data-accuracy="{b.accuracy!r}" data-count="{b.count}"' in section
    assert reliability_section(load_run(dirs["5shot"])) == ""  # no calibration stats, no diagram
