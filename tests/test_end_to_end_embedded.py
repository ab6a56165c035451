"""A few BoolQ instances, 5-shot, on each real embedded model, end to end through the CLI."""

import json

import pytest
from conftest import run_cli

from crfm_eval.runner.readers import iter_request_states

MODELS = {
    # config name: (model name in outputs, overrides; the default model needs none)
    "smollm2-135m": ("local/smollm2-135m-instruct-q4_1", ()),
    "gemma-3-270m": ("local/gemma-3-270m-q4_k_m", ("model=gemma-3-270m",)),
}


@pytest.mark.parametrize("config_name", list(MODELS))
def test_boolq_on_a_real_model_then_from_cache(config_name, tmp_path, shared_data):
    model_name, overrides = MODELS[config_name]
    command = ("scenario=boolq", "adaptation=5shot", *overrides, "max_eval_instances=3", f"data_dir={shared_data}")
    completed = run_cli(*command, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    (run_dir,) = [path for path in (tmp_path / "outputs" / "runs" / "default").iterdir() if path.is_dir()]
    assert json.loads((run_dir / "run_spec.json").read_text())["model"]["name"] == model_name
    states = list(iter_request_states(run_dir))
    assert len(states) == 3
    for state in states:
        completion = state["result"]["completions"][0]
        assert state["result"]["success"] and completion["finish_reason"] in ("stop", "length")
        assert "\n" not in completion["text"] and len(completion["tokens"]) <= 5
        assert all(token["logprob"] <= 0 for token in completion["tokens"])
        assert state["num_train_instances"] == 5 and state["num_prompt_tokens"] > 300
    stats = (run_dir / "stats.json").read_bytes()
    assert {s["name"] for s in json.loads(stats)} >= {"exact_match", "num_prompt_tokens", "inference_runtime"}

    again = run_cli(*command, "force=true", cwd=tmp_path)  # run again (not skipped as complete)
    assert again.returncode == 0, again.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert (manifest["num_model_calls"], manifest["num_cache_hits"]) == (0, 3)
    assert (run_dir / "stats.json").read_bytes() == stats
    assert next(iter_request_states(run_dir))["result"]["completions"] == [states[0]["result"]["completions"][0]]
