"""The leaderboard shows what each entry costs and how long its calls took, and, for 3-trial runs, each
trial's score and their spread beside the mean, in a real browser (Chromium), from real runs."""

import functools
import http.server
import statistics
import threading

import pytest
from browser import start_chromium
from conftest import run_cli
from site_helpers import build_site, checkout_metadata
from test_site import QuietHandler

from crfm_eval.runner import readers

INSTANCES = 24
RUNS = {
    # A price on the simple model stands in for a hosted model's (the cost column needs one).
    "simple/deterministic": ("model=simple", "model.price.prompt=2.5", "model.price.completion=10"),
    "simple/other": ("model=simple", "model.name=simple/other"),
}


@pytest.fixture(scope="module")
def built(tmp_path_factory, shared_data):
    workdir = tmp_path_factory.mktemp("site_trials")
    for overrides in RUNS.values():
        completed = run_cli(
            "scenario=boolq",
            "adaptation=5shot",
            "adaptation.num_train_trials=3",
            f"max_eval_instances={INSTANCES}",
            f"data_dir={shared_data}",
            "execution.progress=false",
            *overrides,
            cwd=workdir,
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr
    completed = build_site(workdir / "outputs", workdir / "site", checkout_metadata(workdir / "metadata"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return workdir


def _runs(workdir):
    found = {}
    for run_dir in sorted((workdir / "outputs/runs/default").glob("*")):
        if readers.is_complete(run_dir):
            found[readers.read_run_spec(run_dir)["model"]["name"]] = run_dir
    assert set(found) == set(RUNS)
    return found


@pytest.fixture(scope="module")
def page(built):
    handler = functools.partial(QuietHandler, directory=str(built / "site"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    driver = start_chromium(built / "chromium-profile")
    try:
        driver.get(f"http://127.0.0.1:{server.server_address[1]}/leaderboard.html")
        yield driver
    finally:
        driver.quit()
        server.shutdown()


def _row(driver, model):
    table = driver.find_element("css selector", 'table[data-scenario="boolq"]')
    rows = [
        row
        for row in table.find_elements("css selector", "tbody tr")
        if row.find_element("css selector", "td").text.strip() == model  # the entry cell
    ]
    assert len(rows) == 1, [row.text for row in rows]
    return rows[0]


def test_each_entry_shows_its_trials_spread_beside_the_mean(page, built):
    for model, run_dir in _runs(built).items():
        exact = next(s for s in readers.read_stats(run_dir) if s["name"] == "exact_match" and not s.get("sub_split"))
        by_trial = {0: [], 1: [], 2: []}
        for entry in readers.iter_per_instance_stats(run_dir):
            by_trial[entry["train_trial_index"]].append(entry["values"]["exact_match"])
        means = [sum(values) / len(values) for values in by_trial.values()]
        spread = _row(page, model).find_element("css selector", ".crfm-trials")
        assert spread.is_displayed()
        expected = f"trials {min(means):.3f}–{max(means):.3f}, sd {statistics.stdev(means):.3f}"
        assert spread.text == expected
        assert [float(v) for v in spread.get_attribute("data-trial-means").split(",")] == pytest.approx(means)
        assert exact["trials"]["means"] == pytest.approx(means)


def test_a_plot_shows_each_entrys_score_in_each_trial(page, built):
    chart = page.find_element("css selector", ".crfm-trials-chart svg")
    assert chart.is_displayed()
    for model, run_dir in _runs(built).items():
        exact = next(s for s in readers.read_stats(run_dir) if s["name"] == "exact_match" and not s.get("sub_split"))
        rows = [
            g for g in chart.find_elements("css selector", "g.crfm-trial-row") if model in g.get_attribute("data-label")
        ]
        assert len(rows) == 1
        points = rows[0].find_elements("css selector", "circle.crfm-trial-point")
        assert [p.get_attribute("data-trial") for p in points] == ["0", "1", "2"]
        assert [float(p.get_attribute("data-value")) for p in points] == pytest.approx(exact["trials"]["means"])
        # The dots sit where their values are on the 0-1 axis: a higher score is further right.
        xs = [float(p.get_attribute("cx")) for p in points]
        order = sorted(range(3), key=lambda trial: exact["trials"]["means"][trial])
        assert [xs[trial] for trial in order] == sorted(xs)


def test_cost_and_latency_columns(page, built):
    headers = [h.text for h in page.find_elements("css selector", 'table[data-scenario="boolq"] thead th')]
    assert any(h.startswith("cost ($)") for h in headers)
    assert any(h.startswith("request time (s): mean / p95") for h in headers)
    for model, run_dir in _runs(built).items():
        usage = readers.read_manifest(run_dir)["usage"]
        row = _row(page, model)
        cost = row.find_element("css selector", ".crfm-cost")
        if model == "simple/deterministic":
            # By hand: every token of the run (none was cached) at $2.5 / $10 per million.
            assert usage["cached_prompt_tokens"] == 0
            expected = (usage["prompt_tokens"] * 2.5 + usage["completion_tokens"] * 10) / 1e6
            assert expected > 0
        else:
            expected = 0.0
        assert float(cost.get_attribute("data-cost")) == pytest.approx(expected)
        assert cost.text == f"{expected:.4f}"
        latency = row.find_element("css selector", ".crfm-latency")
        assert float(latency.get_attribute("data-mean")) == pytest.approx(usage["request_seconds"]["mean"])
        assert float(latency.get_attribute("data-p95")) == pytest.approx(usage["request_seconds"]["p95"])
        assert usage["request_seconds"]["count"] == 3 * INSTANCES
