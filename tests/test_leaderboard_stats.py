"""The leaderboard's arithmetic on hand-made data: paired tests, win rates, formatting, links, run discovery."""

import json
import math

import pytest

from crfm_eval.leaderboard.html import esc, link, mean_ci, page_url
from crfm_eval.leaderboard.paths import md
from crfm_eval.leaderboard.runs import find_runs
from crfm_eval.leaderboard.significance import MCNEMAR, WILCOXON, mcnemar_exact, paired_test
from crfm_eval.leaderboard.tables import build_leaderboard
from crfm_eval.leaderboard.win_rate import scenario_win_rates, win_rates


def test_mcnemar_exact_on_known_counts():
    # Ten instances where only A is right: P(all 10 discordant pairs favour one side) = 2 / 2**10.
    assert mcnemar_exact(10, 0) == pytest.approx(2 / 2**10)
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 2**10)
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0 and mcnemar_exact(1, 0) == 1.0
    # 7 vs 1: two-sided binomial tail 2 * P(X <= 1 | n=8, 1/2) = 2 * 9/256.
    assert mcnemar_exact(7, 1) == pytest.approx(2 * 9 / 256)


def test_paired_test_matches_instances_by_id_and_picks_mcnemar_for_0_1_values():
    a = {f"i{k}": 1.0 for k in range(12)} | {"only-in-a": 0.0}
    b = {f"i{k}": (1.0 if k < 2 else 0.0) for k in range(12)} | {"only-in-b": 1.0}
    test = paired_test(a, b)
    assert test.method == MCNEMAR and test.num_pairs == 12
    assert test.mean_difference == pytest.approx(10 / 12)
    assert test.p_value == pytest.approx(2 / 2**10) and test.significant
    same = paired_test(a, dict(a))
    assert same.p_value == 1.0 and not same.significant
    assert paired_test({"x": 1.0}, {"y": 1.0}) is None


def test_paired_test_uses_wilcoxon_for_other_values():
    # Ten positive differences of distinct sizes: the exact two-sided signed-rank p-value is 2 / 2**10.
    a = {f"i{k}": 0.5 + k for k in range(10)}
    b = {f"i{k}": 0.0 for k in range(10)}
    test = paired_test(a, b)
    assert test.method == WILCOXON and test.num_pairs == 10
    assert test.p_value == pytest.approx(2 / 2**10)
    assert paired_test(a, dict(a)).p_value == 1.0


def test_win_rates_helm_style_with_ties_and_missing_entries():
    table = {
        "s1": {"A": 0.9, "B": 0.5, "C": 0.5},
        "s2": {"A": 0.1, "B": 0.8, "C": None},
    }
    assert scenario_win_rates(table["s1"]) == {"A": 1.0, "B": 0.25, "C": 0.25}
    assert scenario_win_rates(table["s2"]) == {"A": 0.0, "B": 1.0, "C": None}
    assert win_rates(table) == {"A": 0.5, "B": 0.625, "C": 0.25}
    assert win_rates({"s": {"alone": 0.3}}) == {"alone": None}


def test_mean_and_interval_formatting():
    assert mean_ci({"mean": 0.62, "ci_low": 0.4823, "ci_high": 0.7411}) == "0.620 [0.482, 0.741]"
    assert mean_ci({"mean": 1.0, "ci_low": None, "ci_high": None}) == "1.000"
    assert mean_ci(None) == "—" and mean_ci({"mean": None}) == "—"


def test_untrusted_text_is_escaped_for_html_and_markdown():
    hostile = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    assert "<" not in esc(hostile) and '"' not in esc(hostile)
    heading = md("run_*1* <b>it's</b>")
    assert "<" not in heading and "&#x27;" in heading and "\\_" in heading


def test_links_between_pages():
    assert page_url("runs/s/r/index.md", False) == "runs/s/r/index.html"
    assert page_url("runs/s/r/instances-2.md", True) == "runs/s/r/instances-2/"
    assert link("leaderboard.md", "runs/s/r/index.md", False) == "runs/s/r/index.html"
    assert link("runs/s/r/instances-2.md", "runs/s/r/index.md", False) == "index.html"
    assert link("runs/s/r/index.md", "leaderboard.md", False) == "../../../leaderboard.html"
    assert link("runs/s/r/instances-2.md", "runs/s/r/index.md", True) == "../"
    assert link("index.md", "leaderboard.md", True) == "leaderboard/"


def _write_run(folder, model, adaptation, values, manifest=True):
    """A minimal run folder: a spec, per-instance values of exact_match and their stats."""
    folder.mkdir(parents=True)
    spec = {
        "scenario": {"name": "toy"},
        "model": {"name": model},
        "adaptation": {"name": adaptation, "max_train_instances": 0},
    }
    per_instance = [
        {"instance_id": f"i{k}", "split": "valid", "train_trial_index": 0, "values": {"exact_match": v}}
        for k, v in enumerate(values)
    ]
    mean = sum(values) / len(values)
    stats = [
        {
            "name": "exact_match",
            "split": "valid",
            "count": len(values),
            "sum": sum(values),
            "mean": mean,
            "stddev": None,
            "min": min(values),
            "max": max(values),
            "ci_low": mean - 0.1,
            "ci_high": mean + 0.1,
        }
    ]
    for name, data in (("run_spec.json", spec), ("per_instance_stats.json", per_instance), ("stats.json", stats)):
        (folder / name).write_text(json.dumps(data))
    if manifest:
        (folder / "manifest.json").write_text(json.dumps({"num_requests": len(values)}))


def test_leaderboard_from_hand_made_run_folders(tmp_path):
    runs_dir = tmp_path / "runs" / "suite"
    _write_run(runs_dir / "a", "model-a", "0shot", [1.0] * 12)
    _write_run(runs_dir / "b", "model-b", "0shot", [1.0, 1.0] + [0.0] * 10)
    _write_run(runs_dir / "c", "model-c", "0shot", [1.0, 1.0] + [0.0] * 10)
    _write_run(runs_dir / "unfinished", "model-d", "0shot", [1.0], manifest=False)
    found = find_runs(tmp_path)
    assert [run.run_name for run in found.runs] == ["a", "b", "c"]
    assert found.incomplete == [runs_dir / "unfinished"]
    board = build_leaderboard(found.runs, ["exact_match"])
    (group,) = board.groups
    assert group.split == "valid" and [row.entry for row in group.rows] == [
        "model-a · 0shot",
        "model-b · 0shot",
        "model-c · 0shot",
    ]
    assert board.win_rates == {"model-a · 0shot": 1.0, "model-b · 0shot": 0.25, "model-c · 0shot": 0.25}
    # a beats b on 10 of 12 instances, b never beats a: significant. b and c give identical answers.
    assert group.test("exact_match", "model-a · 0shot", "model-b · 0shot").p_value == pytest.approx(2 / 2**10)
    assert [entry for entry, _ in group.indistinguishable("exact_match", "model-b · 0shot")] == ["model-c · 0shot"]
    assert group.indistinguishable("exact_match", "model-a · 0shot") == []
    assert math.isclose(group.rows[1].mean("exact_match"), 2 / 12)
    assert find_runs(tmp_path / "nothing").runs == []
