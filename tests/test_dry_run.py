"""`dry_run=true`: a sweep's requests, cache hits, tokens and cost, with no request sent, no key, no
network and no run folder; its counts are those of the real run."""

import json
import re

from conftest import run_cli

from crfm_eval.runner import readers

LINE = re.compile(
    r"^(?P<run>\S+): (?P<requests>[\d,]+) requests \((?P<cached>[\d,]+) in the cache\); to send: (?P<send>[\d,]+) "
    r"requests, (?P<prompt>[\d,]+) prompt tokens(?P<estimated> \(estimated: approximate tokenizer\))?, at most "
    r"(?P<completion>[\d,]+) completion tokens; estimated cost at most \$(?P<cost>[\d.]+) \((?P<pricing>.*)\)\.$",
    re.MULTILINE,
)
INSTANCES = 12
NO_KEYS = {"OPENAI_API_KEY": "", "AI21_API_KEY": ""}


def number(text: str) -> int:
    return int(text.replace(",", ""))


def dry_run_lines(stdout: str) -> dict[str, dict[str, str]]:
    return {match["run"]: match.groupdict() for match in LINE.finditer(stdout)}


def sweep(tmp_path, shared_data, *extra: str):
    return run_cli(
        "-m",
        "scenario=boolq",
        "adaptation=0shot,5shot",
        "model=simple,gpt-4o-mini",
        f"max_eval_instances={INSTANCES}",
        f"data_dir={shared_data}",
        "execution.progress=false",
        *extra,
        cwd=tmp_path,
        extra_env=NO_KEYS,
    )


def test_a_dry_run_sweep_prints_counts_and_costs_and_writes_no_run(tmp_path, shared_data):
    completed = sweep(tmp_path, shared_data, "dry_run=true")
    assert completed.returncode == 0, completed.stderr
    lines = dry_run_lines(completed.stdout)
    assert len(lines) == 4, completed.stdout
    for line in lines.values():
        assert number(line["requests"]) == INSTANCES and number(line["cached"]) == 0
        assert number(line["send"]) == INSTANCES
        assert number(line["completion"]) == INSTANCES * 5  # max_tokens 5 of 0shot and 5shot, one completion
        if "gpt-4o-mini" in line["run"]:
            assert line["estimated"]  # OpenAI's tokenizer is not at hand: the count says it is an estimate
            assert "read on 2024-07-18" in line["pricing"]
            expected = number(line["prompt"]) * 0.15 / 1e6 + number(line["completion"]) * 0.60 / 1e6
            assert abs(float(line["cost"]) - expected) < 1e-4
            assert float(line["cost"]) > 0
        else:
            assert not line["estimated"] and float(line["cost"]) == 0
    five_shot = [line for run, line in lines.items() if "5shot" in run]
    zero_shot = [line for run, line in lines.items() if "0shot" in run]
    assert min(number(line["prompt"]) for line in five_shot) > 3 * max(number(line["prompt"]) for line in zero_shot)
    total = re.search(r"Total of 4 run\(s\): ([\d,]+) requests, 0 in the cache; .*?\$([\d.]+)\.", completed.stdout)
    assert total and number(total[1]) == 4 * INSTANCES
    assert abs(float(total[2]) - sum(float(line["cost"]) for line in lines.values())) < 1e-3
    # Nothing of a run: no run folder, no cache, no summary (Hydra's own log goes under dry_runs/).
    assert not (tmp_path / "outputs" / "runs").exists()
    assert not (tmp_path / "outputs" / "cache").exists()


def test_dry_run_counts_equal_the_real_run_on_the_simple_model(tmp_path, shared_data):
    overrides = ("scenario=boolq", "adaptation=5shot", "model=simple", f"max_eval_instances={INSTANCES}")
    common = (f"data_dir={shared_data}", "execution.progress=false", "adaptation.num_train_trials=2")
    dry = run_cli(*overrides, *common, "dry_run=true", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    (before,) = dry_run_lines(dry.stdout).values()
    real = run_cli(*overrides, *common, cwd=tmp_path)
    assert real.returncode == 0, real.stderr
    run_dir = next((tmp_path / "outputs" / "runs" / "default").glob("*/manifest.json")).parent
    manifest = json.loads((run_dir / "manifest.json").read_text())
    states = list(readers.iter_request_states(run_dir))
    assert number(before["requests"]) == manifest["num_requests"] == len(states) == 2 * INSTANCES
    assert number(before["prompt"]) == manifest["usage"]["prompt_tokens"]
    assert number(before["prompt"]) == sum(state["num_prompt_tokens"] for state in states)
    generated = sum(len(c["tokens"]) for state in states for c in state["result"]["completions"])
    assert manifest["usage"]["completion_tokens"] == generated <= number(before["completion"]) == 5 * 2 * INSTANCES
    assert manifest["usage"]["cost_usd"] == 0.0  # a local model costs nothing
    # Once the run is done, a dry run of one more instance finds the finished ones in the cache.
    more = ("scenario=boolq", "adaptation=5shot", "model=simple", f"max_eval_instances={INSTANCES + 1}")
    again = run_cli(*more, *common, "dry_run=true", cwd=tmp_path)
    (after,) = dry_run_lines(again.stdout).values()
    assert number(after["requests"]) == 2 * (INSTANCES + 1)
    assert number(after["cached"]) >= 2 * INSTANCES - 2 and number(after["send"]) <= 4
    assert len(list((tmp_path / "outputs" / "runs" / "default").glob("*/run_spec.json"))) == 1
