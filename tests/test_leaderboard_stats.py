"""The leaderboard's arithmetic on hand-made data: paired tests, Holm, win rates, labels, metric groups,
formatting, links, run discovery and status, the build cache, the viewer's prompt packing."""

import gzip
import html
import json
import math
import random

import numpy as np
import pytest
from scipy import stats as scipy_stats

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.build import sitemap_with_runs
from crfm_eval.leaderboard.build_cache import BuildCache
from crfm_eval.leaderboard.html import esc, link, mean_ci, page_url, root_of
from crfm_eval.leaderboard.identity import make_labels
from crfm_eval.leaderboard.metric_groups import OTHER, catalog, grouped
from crfm_eval.leaderboard.paths import md, segment
from crfm_eval.leaderboard.plots import LABEL_CHARS, wrap
from crfm_eval.leaderboard.run_data import PromptPacker
from crfm_eval.leaderboard.runs import FAILED, RUNNING, UNFINISHED, Run, run_folders
from crfm_eval.leaderboard.significance import HOLM, MCNEMAR, WILCOXON, holm, mcnemar_exact, paired_test, pairwise_tests
from crfm_eval.leaderboard.site_index import search_entries
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


def test_holm_on_known_p_values():
    # Sorted: 0.005 (x4 = 0.02), 0.01 (x3 = 0.03), 0.03 (x2 = 0.06), 0.04 (x1 = 0.04, raised to 0.06).
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0]) and holm([]) == []


def _random_entries(count: int, instances: int, binary: bool, seed: int = 0) -> dict[str, dict[str, float]]:
    rng = random.Random(seed)
    entries = {}
    for index in range(count):
        skill = rng.random()
        entries[f"e{index}"] = {
            f"i{k}": float(rng.random() < skill) if binary else float(rng.choice([0, 1 / 3, 2 / 3, 1]))
            for k in range(instances)
        }
    return entries


def test_pairwise_tests_agree_with_scipy_pair_by_pair():
    entries = _random_entries(6, 300, binary=True)
    entries["e5"] = {key: value for key, value in entries["e5"].items() if key != "i0"}  # a missing instance
    tests = pairwise_tests(entries)
    for a in entries:
        for b in entries:
            if a == b:
                continue
            shared = sorted(entries[a].keys() & entries[b].keys())
            only_a = sum(entries[a][i] > entries[b][i] for i in shared)
            only_b = sum(entries[b][i] > entries[a][i] for i in shared)
            expected = scipy_stats.binomtest(only_a, only_a + only_b, 0.5).pvalue if only_a + only_b else 1.0
            test = tests[(a, b)]
            assert test.method == MCNEMAR and test.num_pairs == len(shared)
            assert test.p_value == pytest.approx(expected, rel=1e-9)
            assert test.mean_difference == pytest.approx(np.mean([entries[a][i] - entries[b][i] for i in shared]))
    graded = _random_entries(4, 200, binary=False, seed=1)
    for (a, b), test in pairwise_tests(graded).items():
        differences = [graded[a][i] - graded[b][i] for i in sorted(graded[a])]
        assert test.method == WILCOXON
        assert test.p_value == pytest.approx(scipy_stats.wilcoxon(differences, zero_method="wilcox").pvalue)


def test_pairwise_tests_with_holm_adjust_over_the_unordered_pairs():
    entries = _random_entries(5, 200, binary=True, seed=3)
    raw = pairwise_tests(entries)
    corrected = pairwise_tests(entries, HOLM)
    pairs = [(a, b) for a in entries for b in entries if a < b]
    adjusted = holm([raw[pair].p_value for pair in pairs])
    for pair, value in zip(pairs, adjusted, strict=True):
        assert corrected[pair].p_adjusted == pytest.approx(value)
        assert corrected[pair[::-1]].p_adjusted == pytest.approx(value)
        assert corrected[pair].significant == (value < 0.05)
    assert sum(test.significant for test in corrected.values()) <= sum(test.significant for test in raw.values())


def test_win_rates_helm_style_with_ties_and_missing_entries():
    table = {
        "s1": {"A": 0.9, "B": 0.5, "C": 0.5},
        "s2": {"A": 0.1, "B": 0.8, "C": None},
    }
    assert scenario_win_rates(table["s1"]) == {"A": 1.0, "B": 0.25, "C": 0.25}
    assert scenario_win_rates(table["s2"]) == {"A": 0.0, "B": 1.0, "C": None}
    assert win_rates(table) == {"A": 0.5, "B": 0.625, "C": 0.25}
    assert win_rates({"s": {"alone": 0.3}}) == {"alone": None}


def _spec(model: str, adaptation: str = "5shot", **changes) -> dict:
    spec = {
        "run_name": f"boolq_{adaptation}_{model}",
        "suite": "default",
        "output_dir": "outputs",
        "data_dir": "data",
        "max_eval_instances": 100,
        "seed": 0,
        "force": False,
        "scenario": {"name": "boolq", "args": {}},
        "adaptation": {"name": adaptation, "max_train_instances": 5 if adaptation == "5shot" else 0},
        "execution": {"num_threads": 4},
        "model": {"name": model, "max_sequence_length": 2048 if model == "a" else 4096},
    }
    for key, value in changes.items():
        target = spec
        *parents, last = key.split(".")
        for parent in parents:
            target = target[parent]
        target[last] = value
    return spec


def test_labels_show_what_tells_entries_apart():
    runs = [
        ("s/1", "boolq", _spec("a")),
        ("s/2", "boolq", _spec("a", seed=1)),
        ("s/3", "boolq", _spec("b")),
        ("s/4", "boolq", _spec("a", "0shot", **{"execution.num_threads": 16})),  # threads: not identity
        ("s/5", "boolq", _spec("b", max_eval_instances=1000)),
    ]
    labels = make_labels(runs)
    assert labels.entry_of == {
        "s/1": "a · 5shot · max_eval_instances=100 · seed=0",
        "s/2": "a · 5shot · max_eval_instances=100 · seed=1",
        "s/3": "b · 5shot · max_eval_instances=100 · seed=0",
        "s/4": "a · 0shot · max_eval_instances=100 · seed=0",
        "s/5": "b · 5shot · max_eval_instances=1000 · seed=0",
    }
    # model.max_sequence_length and adaptation.max_train_instances differ too, but the names tell them.
    # One adaptation in the table: it is not what tells entries apart (the scenario's heading names it).
    simple = make_labels([("s/1", "boolq", _spec("a")), ("s/3", "boolq", _spec("b"))])
    assert simple.entry_of == {"s/1": "a", "s/3": "b"}
    # A run setting is shown when it differs, even between entries the model names already tell apart.
    seeds = make_labels([("s/1", "boolq", _spec("a")), ("s/3", "boolq", _spec("b", seed=7))])
    assert seeds.entry_of == {"s/1": "a · seed=0", "s/3": "b · seed=7"}
    # A model's own setting that differs under one name is shown too.
    window = make_labels(
        [("s/1", "boolq", _spec("a")), ("s/6", "boolq", _spec("a", **{"model.max_sequence_length": 512}))]
    )
    assert window.entry_of == {"s/1": "a · max_sequence_length=2048", "s/6": "a · max_sequence_length=512"}


def _on(scenario: str, adaptation: str, model: str, **changes) -> dict:
    """A run of `model` on `scenario` with that scenario's default adaptation (its own shots and metrics)."""
    shots = {"5shot": 5, "0shot": 0, "mmlu": 5, "imdb": 0}[adaptation]
    spec = _spec(model, adaptation, **{"scenario.name": scenario, "run_name": f"{scenario}_{adaptation}_{model}"})
    spec["adaptation"].update(
        max_train_instances=shots, method="multiple_choice_joint" if adaptation == "mmlu" else "generation"
    )
    spec["metric"] = {"joint_choice": {"name": "joint_choice"}} if adaptation == "mmlu" else {}
    for key, value in changes.items():
        spec[key] = value
    return spec


def test_an_entry_is_a_model_across_scenarios_that_each_bring_their_adaptation():
    """Each scenario with its default adaptation, max_eval_instances and metric sets: those differ only
    between scenarios, so one model is one entry, with a row on every scenario."""
    defaults = {"boolq": "5shot", "mmlu": "mmlu", "imdb": "imdb"}
    runs = [
        (f"s/{scenario}-{model}", scenario, _on(scenario, adaptation, model, max_eval_instances=eval_instances))
        for scenario, adaptation in defaults.items()
        for model, eval_instances in (
            ("a", 100 if scenario != "boolq" else 1000),
            ("b", 100 if scenario != "boolq" else 1000),
        )
    ]
    labels = make_labels(runs)
    assert labels.entry_of == {key: key.rsplit("-", 1)[1] for key, _, _ in runs}
    assert labels.row_of == labels.entry_of
    # Seeds swept on every scenario: four entries, matched across scenarios by their seed.
    seeded = make_labels(
        [(f"{key}-{seed}", table, {**spec, "seed": seed}) for key, table, spec in runs for seed in (0, 1)]
    )
    assert set(seeded.entry_of.values()) == {"a · seed=0", "a · seed=1", "b · seed=0", "b · seed=1"}
    assert seeded.entry_of["s/mmlu-a-1"] == seeded.entry_of["s/boolq-a-1"] == "a · seed=1"
    # Two adaptations of BoolQ: then the adaptation tells entries apart, on every scenario.
    both = make_labels([*runs, ("s/boolq-a-0shot", "boolq", _on("boolq", "0shot", "a", max_eval_instances=1000))])
    assert both.entry_of["s/boolq-a-0shot"] == "a · 0shot" and both.entry_of["s/boolq-a"] == "a · 5shot"
    assert both.entry_of["s/mmlu-a"] == "a · mmlu"


def test_win_rates_compare_models_across_scenarios_with_their_own_adaptations():
    defaults = {"boolq": ("5shot", "valid"), "mmlu": ("mmlu", "test"), "imdb": ("imdb", "test")}
    means = {("boolq", "a"): 0.8, ("boolq", "b"): 0.6, ("mmlu", "a"): 0.3, ("mmlu", "b"): 0.5, ("imdb", "a"): 0.9}
    runs = []
    for (scenario, model), mean in means.items():
        adaptation, split = defaults[scenario]
        runs.append(
            Run(
                {
                    "path": f"/o/runs/s/{scenario}-{model}",
                    "suite": "s",
                    "run_name": f"{scenario}-{model}",
                    "run_spec": _on(scenario, adaptation, model),
                    "stats": [{"name": "exact_match", "split": split, "count": 10, "mean": mean}],
                }
            )
        )
    board = build_leaderboard(runs, ["exact_match"])
    assert [[row.label for row in group.rows] for group in board.groups] == [["a", "b"], ["a"], ["b", "a"]]
    assert [group.adaptations for group in board.groups] == [["5shot"], ["imdb"], ["mmlu"]]
    # a beats b on BoolQ, loses on MMLU; IMDB has no rival, so it does not count.
    assert board.win_rates == {"a": 0.5, "b": 0.5}
    assert [row.win_rate for row in board.groups[0].rows] == [0.5, 0.5]


def test_rows_of_one_entry_in_one_table_are_told_apart():
    runs = [
        ("s/1", "boolq", _spec("a")),
        ("s/2", "boolq", _spec("a", data_dir="elsewhere")),  # the same entry on other data
        ("t/1", "boolq", _spec("a", suite="t")),  # a rerun in another suite: identical settings
        ("s/9", "imdb", _spec("a", **{"scenario.name": "imdb"})),
    ]
    labels = make_labels(runs)
    assert set(labels.entry_of.values()) == {"a"}  # one competitor across scenarios
    assert labels.row_of["s/2"] == "a · data_dir=elsewhere"
    assert labels.row_of["s/1"] == "a · data_dir=data (s/1)" and labels.row_of["t/1"] == "a · data_dir=data (t/1)"
    assert labels.row_of["s/9"] == "a"


def test_metric_groups_come_from_the_runs_metric_info_in_helm_order():
    def described(*items):
        return {name: {"name": name, "group": group} for name, group in items}

    known = catalog(
        [
            described(
                ("exact_match", "accuracy"),
                ("inference_runtime", "efficiency"),
                ("ece_10_bin", "calibration"),
                ("quasi_exact_match", "accuracy"),
            ),
            described(("toxic_frac", "toxicity"), ("mystery_score", "novel"), ("exact_match", "efficiency")),
        ]
    )
    names = [
        "mystery_score",
        "unknown",
        "inference_runtime",
        "quasi_exact_match",
        "exact_match",
        "toxic_frac",
        "ece_10_bin",
    ]
    assert grouped(names, known) == [
        ("accuracy", ["exact_match", "quasi_exact_match"]),  # the first run that describes a stat wins
        ("calibration", ["ece_10_bin"]),
        ("toxicity", ["toxic_frac"]),
        ("efficiency", ["inference_runtime"]),
        ("novel", ["mystery_score"]),  # a group HELM does not have: after HELM's, by name
        (OTHER, ["unknown"]),  # described by no run
    ]


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
    assert page_url("runs/s/r/index.md", True) == "runs/s/r/"
    assert link("leaderboard.md", "runs/s/r/index.md", False) == "runs/s/r/index.html"
    assert link("runs/s/r/index.md", "leaderboard.md", False) == "../../../leaderboard.html"
    assert link("runs/s/r/index.md", "instances.md", True) == "../../../instances/"
    assert link("index.md", "leaderboard.md", True) == "leaderboard/"
    assert root_of("instances.md", False) == "" and root_of("instances.md", True) == "../"
    assert root_of("runs/s/r/index.md", False) == "../../../"


def test_folder_names_become_distinct_safe_segments():
    assert segment("boolq_5shot_simple--deterministic") == "boolq_5shot_simple--deterministic"
    named = "boolq_5shot_simple--deterministic_data_dir=~518f36d2,max_eval_instances=120"  # runner/identity.py
    assert segment(named) == named
    assert segment("a b") != segment("a_b") and segment("a b").startswith("a_b-")
    assert "/" not in segment("../x") and segment("..").startswith("_-")


def test_plot_labels_are_wrapped_never_cut():
    label = "simple/deterministic · 5shot · max_eval_instances=1000 · seed=12345 · temperature=0.7"
    lines = wrap(label)
    assert len(lines) > 1 and all(len(line) <= LABEL_CHARS for line in lines)
    assert " ".join(lines) == label
    long_word = "x" * 80
    assert "".join(wrap(long_word)) == long_word


def _state(instance_id: str, text: str, prompt: str, answer: str, correct: str) -> dict:
    return {
        "instance": {
            "id": instance_id,
            "input": text,
            "references": [{"output": correct, "tags": ["correct"]}],
            "split": "valid",
        },
        "train_trial_index": 0,
        "request": {"model": "m", "prompt": prompt, "temperature": 0.0},
        "train_instance_ids": [],
        "num_train_instances": 0,
        "prompt_truncated": False,
        "num_prompt_tokens": 3,
        "result": {"success": True, "completions": [{"text": answer, "logprob": 0.0, "tokens": []}], "cached": False},
    }


def _write_run(folder, model, adaptation, values, manifest=True, status=None, scenario="toy"):
    """A run folder in the runner's formats: spec, request states, per-instance values and stats."""
    folder.mkdir(parents=True)
    spec = _spec(model, adaptation, **{"scenario.name": scenario})
    states = [
        _state(f"i{k}", f"question {k}?", f"Q: question {k}?\nA:", " yes" if v else " no", "yes")
        for k, v in enumerate(values)
    ]
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
    files = {
        "run_spec.json": spec,
        "scenario_state.json": {"adaptation_spec": {}, "request_states": states},
        "per_instance_stats.json": per_instance,
        "stats.json": stats,
        "metric_info.json": {"exact_match": {"name": "exact_match", "group": "accuracy", "lower_is_better": False}},
    }
    for name, data in files.items():
        (folder / name).write_text(json.dumps(data))
    if status is not None:
        (folder / "status.json").write_text(json.dumps(status))
    if manifest:
        (folder / "manifest.json").write_text(
            json.dumps({"num_requests": len(values), "finished_at": "2026-01-01T00:00:00+00:00"})
        )


def test_leaderboard_from_hand_made_run_folders(tmp_path):
    runs_dir = tmp_path / "runs" / "suite"
    _write_run(runs_dir / "a", "model-a", "0shot", [1.0] * 12)
    _write_run(runs_dir / "b", "model-b", "0shot", [1.0, 1.0] + [0.0] * 10)
    some_failed = {"ended_at": 2.0, "error": "3 of 12 requests failed (first: timeout); rerun the same command."}
    _write_run(runs_dir / "c", "model-c", "0shot", [1.0, 1.0] + [0.0] * 10, status=some_failed)
    _write_run(runs_dir / "unfinished", "model-d", "0shot", [1.0], manifest=False)
    _write_run(
        runs_dir / "failed",
        "model-e",
        "0shot",
        [1.0],
        manifest=False,
        status={"ended_at": 2.0, "error": "Boom: it broke."},
    )
    _write_run(
        runs_dir / "running", "model-f", "0shot", [1.0], manifest=False, status={"ended_at": None, "error": None}
    )
    complete, unfinished = run_folders(tmp_path)
    assert [path.name for path in complete] == ["a", "b", "c"]
    states = {folder.run_name: (folder.state, folder.error) for folder in unfinished}
    assert states == {
        "failed": (FAILED, "Boom: it broke."),
        "running": (RUNNING, None),
        "unfinished": (UNFINISHED, None),
    }
    digests, errors = BuildCache(tmp_path / "cache").build(complete, workers=1)
    assert errors == {}
    board = build_leaderboard([Run(digests[path]) for path in complete], ["exact_match"])
    (group,) = board.groups
    assert group.split == "valid" and [row.label for row in group.rows] == [
        "model-a",
        "model-b",
        "model-c",
    ]
    assert board.win_rates == {"model-a": 1.0, "model-b": 0.25, "model-c": 0.25}
    # a beats b on 10 of 12 instances, b never beats a: significant. b and c give identical answers.
    assert group.test("exact_match", "model-a", "model-b").p_value == pytest.approx(2 / 2**10)
    assert [label for label, _ in group.indistinguishable("exact_match", "model-b")] == ["model-c"]
    assert group.indistinguishable("exact_match", "model-a") == []
    assert math.isclose(group.rows[1].mean("exact_match"), 2 / 12)
    # A complete run whose job ended in an error (some requests failed) is shown, marked failed with its line.
    assert [row.run.failure for row in group.rows] == [None, None, some_failed["error"]]
    assert run_folders(tmp_path / "nothing") == ([], [])


def test_lower_is_better_ranks_and_wins_the_other_way(tmp_path):
    runs_dir = tmp_path / "runs" / "suite"
    for name, error in (("low", 0.1), ("high", 0.9)):
        _write_run(runs_dir / name, f"model-{name}", "0shot", [1.0, 0.0])
        stats = json.loads((runs_dir / name / "stats.json").read_text())
        stats[0] = {**stats[0], "name": "error_rate", "mean": error}
        (runs_dir / name / "stats.json").write_text(json.dumps(stats))
        info = {"error_rate": {"name": "error_rate", "group": "accuracy", "lower_is_better": True}}
        (runs_dir / name / "metric_info.json").write_text(json.dumps(info))
    complete, _ = run_folders(tmp_path)
    digests, _ = BuildCache(tmp_path / "cache").build(complete, workers=1)
    board = build_leaderboard([Run(digests[path]) for path in complete], ["exact_match"])
    (group,) = board.groups
    assert group.primary == "error_rate"  # no main metric here: the first of the first metric group
    assert [row.run.run_name for row in group.rows] == ["low", "high"]
    assert board.win_rates == {"model-low": 1.0, "model-high": 0.0}


def test_build_cache_reads_a_run_once_per_version(tmp_path, monkeypatch):
    runs_dir = tmp_path / "runs" / "suite"
    _write_run(runs_dir / "a", "model-a", "0shot", [1.0, 0.0, 1.0])
    _write_run(runs_dir / "b", "model-b", "0shot", [0.0, 0.0, 1.0, 1.0])  # a fourth instance: another table
    _write_run(runs_dir / "c", "model-c", "0shot", [0.0, 1.0, 1.0])  # a's instances: a's table
    complete, _ = run_folders(tmp_path)
    cache = BuildCache(tmp_path / "cache")
    first, _ = cache.build(complete, workers=1)
    import crfm_eval.leaderboard.run_data as run_data

    processed = []
    original = run_data.process_run
    monkeypatch.setattr(run_data, "process_run", lambda *args: processed.append(args[0]) or original(*args))
    again, _ = cache.build(complete, workers=1)
    assert processed == [] and again == first  # nothing changed: nothing read
    stats = runs_dir / "b" / "stats.json"
    stats.write_text(stats.read_text())  # rewritten (a new modification time)
    cache.build(complete, workers=1)
    assert processed == [runs_dir / "b"]
    assert len(list((tmp_path / "cache/runs/suite/b").iterdir())) == 1  # the older version is gone
    assert (
        first[runs_dir / "a"]["instances"] == first[runs_dir / "c"]["instances"] != first[runs_dir / "b"]["instances"]
    )
    assert len(list((tmp_path / "cache/instances").iterdir())) == 2 * 2  # two tables, each with its search snippets
    cache.prune([runs_dir / "a"], {first[runs_dir / "a"]["instances"]})
    assert not (tmp_path / "cache/runs/suite/b").exists() and (tmp_path / "cache/runs/suite/a").exists()
    assert {path.name.split(".")[0] for path in (tmp_path / "cache/instances").iterdir()} == {
        first[runs_dir / "a"]["instances"]
    }


def _unpack(parts: list, prefixes: list[str], text_input: str) -> str:
    """What instances.js does with a packed prompt."""
    start = prefixes[parts[0]] if parts[0] >= 0 else ""
    return start + parts[1] + text_input + parts[2] if len(parts) == 3 else start + parts[1]


def test_packed_prompts_rebuild_exactly():
    shared = "Instructions.\n" + "".join(f"Passage: example {k} 😀 with text\nAnswer: Yes\n\n" for k in range(3))
    cases = [
        (shared + "Passage: what?\nAnswer:", "what?"),
        (shared + "Passage: what? what?\nAnswer:", "what?"),  # the input twice
        (shared + "Passage: \ud800 odd\nAnswer:", "\ud800 odd"),  # a lone surrogate
        (shared + "Passage: \nAnswer:", ""),  # an empty input
        ("Completely different prompt\nwith no shared start", "shared"),  # input not in the prompt
        ("x", "x"),
    ]
    packer = PromptPacker()
    packer.new_shard()
    packed = [(packer.pack(prompt, text_input), text_input, prompt) for prompt, text_input in cases]
    assert len(packer.prefixes) == 1 and packer.prefixes[0].startswith("Instructions.")  # stored once
    for parts, text_input, prompt in packed:
        assert _unpack(parts, packer.prefixes, text_input) == prompt
    assert len(json.dumps(packed[1][0])) < 60  # the examples are not repeated


def test_sitemap_lists_every_run_page_instead_of_the_shell(tmp_path):
    shell = f"https://example.org/runs/{paths.SHELL_SUITE}/{paths.SHELL_RUN}/index.html"
    (tmp_path / "sitemap.xml").write_text(
        '<?xml version="1.0"?>\n<urlset>\n    <url>\n         <loc>https://example.org/index.html</loc>\n    </url>\n'
        f"    <url>\n         <loc>{shell}</loc>\n         <lastmod>2026-01-01</lastmod>\n    </url>\n</urlset>"
    )
    runs = [
        Run({"path": "/o/runs/s/a b", "suite": "s", "run_name": "a b"}),
        Run({"path": "/o/runs/s/c", "suite": "s", "run_name": "c"}),
    ]
    sitemap_with_runs(tmp_path, runs)
    text = (tmp_path / "sitemap.xml").read_text()
    assert paths.SHELL_SUITE not in text and text.count("<url>") == 3
    assert f"<loc>https://example.org/runs/s/{segment('a b')}/index.html</loc>" in text
    assert "<loc>https://example.org/runs/s/c/index.html</loc>" in text
    assert gzip.decompress((tmp_path / "sitemap.xml.gz").read_bytes()).decode() == text


def test_stats_of_parts_of_a_split_do_not_replace_the_whole_split():
    whole = {"name": "exact_match", "split": "test", "count": 10, "mean": 0.5}
    part = {"name": "exact_match", "split": "test", "sub_split": "anatomy", "count": 4, "mean": 0.25}
    run = Run({"path": "/o/runs/s/r", "suite": "s", "run_name": "r", "stats": [whole, part]})
    assert run.stat("exact_match", "test") == whole and run.stat("exact_match", "test", "anatomy") == part
    assert run.sub_splits("exact_match", "test") == ["anatomy"] and run.stat_names("test") == ["exact_match"]


def test_search_entries_hold_escaped_text(tmp_path):
    """The search plugin shows its index's text as HTML: instance texts and names go in escaped."""
    hostile = '<img src=x onerror="window.__pwned=1">'
    runs_dir = tmp_path / "runs" / "suite"
    _write_run(runs_dir / "a", "model-a", "0shot", [1.0, 0.0])
    state_file = runs_dir / "a" / "scenario_state.json"
    scenario_state = json.loads(state_file.read_text())
    scenario_state["request_states"][0]["instance"]["input"] = f"question {hostile}?"
    state_file.write_text(json.dumps(scenario_state))
    complete, _ = run_folders(tmp_path)
    digests, _ = BuildCache(tmp_path / "cache").build(complete, workers=1)
    board = build_leaderboard([Run(digests[path]) for path in complete], ["exact_match"])
    entries = search_entries(board, tmp_path / "cache" / "instances", False, with_instances=True)
    found = next(entry for entry in entries if entry["title"] == "toy instance i0")
    assert found["text"] == html.escape(f"question {hostile}?", quote=False) and "<" not in found["text"]
    assert found["location"] == "instances.html?run=suite%2Fa&id=i0"
