"""`execution.max_cost` against an OpenAI-compatible server on 127.0.0.1 (the fake that answers with
the simple model, as a paid API would): the run stops before it goes over the budget, says what it
spent and what is left, and a rerun with a larger budget finishes from the cache without paying twice."""

import json
import re

from conftest import run_cli
from faulty_openai_server import FaultPlan, faulty_openai_server

INSTANCES = 20
PRICE = ("model.price.prompt=100", "model.price.completion=400")
"""Dollars per million tokens: $0.0001 per prompt token, so a 5-shot prompt costs about 5 cents."""


def run(url: str, tmp_path, shared_data, max_cost: str, threads: int = 4):
    return run_cli(
        "scenario=boolq",
        "adaptation=5shot",
        "model=openai-compatible",
        f"model.args.base_url={url}",
        "model.args.model=simple",
        *PRICE,
        f"execution.max_cost={max_cost}",
        f"execution.num_threads={threads}",
        f"max_eval_instances={INSTANCES}",
        f"data_dir={shared_data}",
        "execution.progress=false",
        cwd=tmp_path,
    )


def test_a_run_stops_at_its_budget_and_a_larger_budget_finishes_without_paying_twice(tmp_path, shared_data):
    plan = FaultPlan(rate=0.0)  # no faults: it counts the requests it answered
    with faulty_openai_server(plan) as url:
        stopped = run(url, tmp_path, shared_data, "0.5")
        output = stopped.stdout + stopped.stderr
        assert stopped.returncode == 1
        message = re.search(
            r"Stopped before going over execution.max_cost=\$0.5: spent \$([\d.]+) on (\d+) model calls "
            r"\(their results are in the cache\); (\d+) of 20 requests are left to run: rerun with a larger "
            r"execution.max_cost to finish without paying twice.",
            output,
        )
        assert message, output
        assert "Traceback" not in output
        spent, calls, left = float(message[1]), int(message[2]), int(message[3])
        assert 0 < spent <= 0.5
        assert calls == plan.answered  # every call the server answered is counted, and paid once
        assert 0 < calls < INSTANCES and left >= INSTANCES - calls
        run_dir = next((tmp_path / "outputs" / "runs" / "default").glob("*/run_spec.json")).parent
        assert not (run_dir / "manifest.json").exists()  # not complete
        assert json.loads((run_dir / "status.json").read_text())["error"].startswith("Stopped before going over")

        first_calls = plan.answered
        finished = run(url, tmp_path, shared_data, "10")
        assert finished.returncode == 0, finished.stderr
        assert plan.answered == INSTANCES  # the paid calls came from the cache: none was asked twice
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["num_cache_hits"] == first_calls
        assert manifest["num_model_calls"] == INSTANCES - first_calls
        usage = manifest["usage"]
        expected = (usage["prompt_tokens"] * 100 + usage["completion_tokens"] * 400) / 1e6
        assert abs(usage["cost_usd"] - expected) < 1e-9 and usage["cost_usd"] > 0
        assert usage["cached_prompt_tokens"] > 0
        # The two runs together paid for every request once: more than the first budget.
        assert spent + usage["cost_usd"] > 0.5
        execution_stats = {stat["name"]: stat for stat in json.loads((run_dir / "execution_stats.json").read_text())}
        assert abs(execution_stats["cost"]["sum"] - usage["cost_usd"]) < 1e-9


def test_a_budget_too_small_for_one_request_sends_nothing(tmp_path, shared_data):
    plan = FaultPlan(rate=0.0)
    with faulty_openai_server(plan) as url:
        stopped = run(url, tmp_path, shared_data, "0.001", threads=1)
    output = stopped.stdout + stopped.stderr
    assert stopped.returncode == 1
    assert "spent $0.000000 on 0 model calls" in output and "20 of 20 requests are left" in output
    assert plan.answered == 0
