"""MMLU scored by log-likelihood (`adaptation=mmlu_separate`) and a corpus through the language
modeling method, end to end on the simple model."""

import json

from conftest import run_cli

from crfm_eval.runner.readers import iter_request_states


def _run_dir(workdir):
    return next((workdir / "outputs" / "runs" / "default").glob("*/run_spec.json")).parent


def test_mmlu_separate_scores_each_option_after_the_subjects_examples(shared_data, tmp_path):
    overrides = ("scenario=mmlu", "adaptation=mmlu_separate", "scenario.args.subjects=[anatomy]", "model=simple")
    completed = run_cli(*overrides, f"data_dir={shared_data}", "max_eval_instances=6", cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    run_dir = _run_dir(tmp_path)
    states = list(iter_request_states(run_dir))
    assert len(states) == 6 * 4
    for state in states:
        instance, request = state["instance"], state["request"]
        reference = instance["references"][state["reference_index"]]
        assert request["continuation"] == " " + reference["output"]
        assert request["prompt"].startswith(
            "The following are multiple choice questions (with answers) about anatomy.\n\n"
        )
        assert request["prompt"].endswith(f"Question: {instance['input']}\nAnswer:")
    stats = {(s["name"], s["sub_split"]): s for s in json.loads((run_dir / "stats.json").read_text())}
    assert stats[("exact_match", None)]["count"] == 6 and stats[("exact_match", "anatomy")]["count"] == 6
    assert ("acc_norm", "anatomy") in stats


def test_a_corpus_runs_with_language_modeling_by_default(shared_data, tmp_path):
    overrides = ("scenario=corpus", "scenario.args.paths=[boolq/dev.jsonl]", "scenario.args.text_field=passage")
    completed = run_cli(*overrides, "model=simple", f"data_dir={shared_data}", "max_eval_instances=10", cwd=tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    run_dir = _run_dir(tmp_path)
    assert json.loads((run_dir / "run_spec.json").read_text())["adaptation"]["method"] == "language_modeling"
    stats = {s["name"]: s for s in json.loads((run_dir / "stats.json").read_text())}
    assert stats["perplexity"]["count"] == 10 and stats["perplexity"]["mean"] > 1
    assert stats["bits_per_byte"]["mean"] > 0
