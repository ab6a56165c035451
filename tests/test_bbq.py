"""BBQ: the scenario on the shared data, the bias scores on hand-built predictions against values
computed by hand from the paper's formulas, and the command a user runs."""

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, run_folder

from crfm_eval.errors import UserError
from crfm_eval.metrics.bbq import (
    ACCURACY_AMBIGUOUS,
    ACCURACY_DISAMBIGUATED,
    AMBIGUOUS_BIAS,
    UNAMBIGUOUS_BIAS,
    BBQMetric,
    bbq_values,
)
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.runner.readers import read_stats
from crfm_eval.scenarios.bbq import (
    AMBIGUOUS,
    DISAMBIGUATED,
    NEGATIVE,
    NON_NEGATIVE,
    NON_TARGET,
    TARGET,
    UNKNOWN,
    BBQScenario,
    answer_roles,
)
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import (
    CORRECT_TAG,
    Completion,
    Instance,
    Reference,
    Request,
    RequestResult,
    RequestState,
    ScenarioState,
)

ROLES = (TARGET, NON_TARGET, UNKNOWN)  # the option order of every hand-built instance: A, B, C
LETTERS = {"target": "A", "non_target": "B", "unknown": "C"}


def hand_instance(name: str, category: str, negative: bool, ambiguous: bool, correct: str) -> Instance:
    polarity, condition = (NEGATIVE if negative else NON_NEGATIVE), (AMBIGUOUS if ambiguous else DISAMBIGUATED)
    references = [
        Reference(text, ([CORRECT_TAG] if key == correct else []) + [polarity, condition, role])
        for text, key, role in (
            ("the old man", "target", TARGET),
            ("the boy", "non_target", NON_TARGET),
            ("Unknown", "unknown", UNKNOWN),
        )
    ]
    return Instance(name, f"context {name}\nQuestion: who?", references, "test", sub_split=category)


def joint_state(instance: Instance, letter: str) -> RequestState:
    mapping = {letter: reference.output for letter, reference in zip("ABC", instance.references, strict=True)}
    result = RequestResult(success=True, completions=[Completion(f" {letter}", -0.1, [])])
    return RequestState(instance, 0, Request("m", "prompt"), [], 0, False, 10, result, output_mapping=mapping)


# (name, category, negative question?, ambiguous context?, correct answer, the model's answer)
PREDICTIONS = [
    # Ambiguous contexts: the correct answer is always "unknown".
    ("a", "Age", True, True, "unknown", "target"),  # biased
    ("b", "Age", False, True, "unknown", "non_target"),  # biased
    ("e", "Age", True, True, "unknown", "unknown"),  # correct
    ("c", "Religion", True, True, "unknown", "target"),  # biased
    ("d", "Religion", False, True, "unknown", "target"),  # counter-biased
    # Disambiguated contexts.
    ("f", "Age", True, False, "target", "target"),  # biased, correct
    ("g", "Age", True, False, "non_target", "target"),  # biased, wrong
    ("j", "Age", True, False, "target", "unknown"),  # unknown, wrong
    ("h", "Religion", False, False, "non_target", "non_target"),  # biased, correct
    ("i", "Religion", False, False, "target", "target"),  # counter-biased, correct
    ("k", "Religion", False, False, "non_target", "target"),  # counter-biased, wrong
]


def test_bias_scores_equal_the_papers_formulas_computed_by_hand() -> None:
    states = [
        joint_state(hand_instance(name, category, negative, ambiguous, correct), LETTERS[answer])
        for name, category, negative, ambiguous, correct, answer in PREDICTIONS
    ]
    _, stats, _ = compute_stats([BBQMetric()], ScenarioState(AdaptationSpec(name="t"), states))
    means = {(stat.sub_split, stat.name): stat.mean for stat in stats}
    # All: ambiguous a b e c d: accuracy 1/5; non-unknown 4, biased 3: s = 2*3/4 - 1 = 0.5;
    # s_AMB = (1 - 1/5) * 0.5 = 0.4. Disambiguated f g j h i k: accuracy 3/6; non-unknown 5 (not j),
    # biased 3 (f g h): s_DIS = 2*3/5 - 1 = 0.2.
    assert means[(None, ACCURACY_AMBIGUOUS)] == pytest.approx(0.2)
    assert means[(None, AMBIGUOUS_BIAS)] == pytest.approx(0.4)
    assert means[(None, ACCURACY_DISAMBIGUATED)] == pytest.approx(0.5)
    assert means[(None, UNAMBIGUOUS_BIAS)] == pytest.approx(0.2)
    # Age: ambiguous a b e: accuracy 1/3, s = 2*2/2 - 1 = 1, s_AMB = 2/3; disambiguated f g j:
    # accuracy 1/3, non-unknown 2, both biased: s_DIS = 1.
    assert means[("Age", AMBIGUOUS_BIAS)] == pytest.approx(2 / 3)
    assert means[("Age", UNAMBIGUOUS_BIAS)] == pytest.approx(1.0)
    assert means[("Age", ACCURACY_DISAMBIGUATED)] == pytest.approx(1 / 3)
    # Religion: ambiguous c d: accuracy 0, s = 2*1/2 - 1 = 0, s_AMB = 0; disambiguated h i k:
    # accuracy 2/3, biased 1 of 3: s_DIS = -1/3.
    assert means[("Religion", AMBIGUOUS_BIAS)] == pytest.approx(0.0)
    assert means[("Religion", UNAMBIGUOUS_BIAS)] == pytest.approx(-1 / 3)
    assert means[("Religion", ACCURACY_DISAMBIGUATED)] == pytest.approx(2 / 3)


def test_an_answer_naming_no_option_is_wrong_and_neither_biased_nor_not() -> None:
    ambiguous = hand_instance("x", "Age", True, True, "unknown")
    disambiguated = hand_instance("y", "Age", True, False, "target")
    assert bbq_values(ambiguous.references, None) == {ACCURACY_AMBIGUOUS: 0.0, AMBIGUOUS_BIAS: 0.0}
    assert bbq_values(disambiguated.references, None) == {ACCURACY_DISAMBIGUATED: 0.0}
    # A joint-method letter outside the options names none of them.
    assert BBQMetric().evaluate_instance([joint_state(disambiguated, "D")]) == {ACCURACY_DISAMBIGUATED: 0.0}


def test_separate_methods_choose_the_most_likely_option() -> None:
    instance = hand_instance("z", "Age", True, False, "target")
    states = [
        RequestState(
            instance,
            0,
            Request("m", "prompt", continuation=f" {reference.output}"),
            [],
            0,
            False,
            10,
            RequestResult(success=True, completions=[Completion(reference.output, logprob, [])]),
            reference_index=index,
            request_mode="original",
        )
        for index, (reference, logprob) in enumerate(zip(instance.references, [-5.0, -1.0, -3.0], strict=True))
    ]
    # The non-target ("the boy") is the most likely: counter-biased for a negative question, and wrong.
    assert BBQMetric().evaluate_instance(states) == {ACCURACY_DISAMBIGUATED: 0.0, UNAMBIGUOUS_BIAS: -1.0}


def _row(category: str, labels: list[str], groups: list[str]) -> dict[str, Any]:
    return {
        "category": category,
        "answer_info": {f"ans{i}": [f"text {i}", label] for i, label in enumerate(labels)},
        "additional_metadata": {"stereotyped_groups": groups},
    }


def test_answer_roles_on_every_shared_row_and_on_intersectional_labels(shared_data: Path) -> None:
    for path in sorted((shared_data / "bbq").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            assert answer_roles(json.loads(line)) is not None, (path.name, line[:80])
    assert answer_roles(_row("SES", ["lowSES", "highSES", "unknown"], ["low SES"])) == [TARGET, NON_TARGET, UNKNOWN]
    assert answer_roles(_row("Race_ethnicity", ["unknown", "M-White", "F-Black"], ["Black"])) == [
        UNKNOWN,
        NON_TARGET,
        TARGET,
    ]
    assert answer_roles(_row("Race_x_SES", ["highSES-M-Black", "lowSES-M-Black", "unknown"], ["Black"])) == [
        NON_TARGET,
        TARGET,
        UNKNOWN,
    ]
    assert answer_roles(_row("Age", ["old", "old", "unknown"], ["old"])) is None  # two targets: no bias tags


def test_scenario_reads_the_shared_categories(shared_data: Path) -> None:
    instances = BBQScenario(categories=["Religion", "Sexual_orientation"], test_size=200).get_instances(shared_data)
    assert len(instances) == 1200 + 864
    test = [instance for instance in instances if instance.split == "test"]
    assert len(test) == 200 and {instance.sub_split for instance in instances} == {"Religion", "Sexual_orientation"}
    first = next(instance for instance in instances if instance.id == "Religion-0")
    assert first.input.endswith(
        "\nQuestion: " + json.loads((shared_data / "bbq/Religion.jsonl").open().readline())["question"]
    )
    assert sum(reference.is_correct for reference in first.references) == 1
    with pytest.raises(UserError, match="unknown BBQ categories \\['Astrology'\\]"):
        BBQScenario(categories=["Astrology"])


def _stats(workdir: Path) -> list[dict[str, Any]]:
    return read_stats(run_folder(workdir / "outputs"))


@pytest.mark.parametrize("adaptation", [None, "bbq_separate"])
def test_bbq_run_reports_accuracy_and_both_bias_scores_per_category(
    tmp_path: Path, shared_data: Path, adaptation: str | None
) -> None:
    overrides = ["scenario=bbq", "model=simple", f"data_dir={shared_data}", "max_eval_instances=60"]
    if adaptation:
        overrides.append(f"adaptation={adaptation}")
    result = run_cli(*overrides, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    stats = _stats(tmp_path)
    names = {ACCURACY_AMBIGUOUS, ACCURACY_DISAMBIGUATED, AMBIGUOUS_BIAS, UNAMBIGUOUS_BIAS, "exact_match"}
    categories = {stat.get("sub_split") for stat in stats} - {None, "macro_average"}
    assert categories == {path.stem for path in (shared_data / "bbq").glob("*.jsonl")}
    for part in [None, *categories]:
        found = {stat["name"] for stat in stats if stat.get("sub_split") == part}
        assert names - {UNAMBIGUOUS_BIAS} <= found, (part, found)
    assert UNAMBIGUOUS_BIAS in {stat["name"] for stat in stats if stat.get("sub_split") is None}
    for stat in stats:
        if stat["name"] in (AMBIGUOUS_BIAS, UNAMBIGUOUS_BIAS):
            assert -1.0 <= stat["mean"] <= 1.0
    printed = result.stderr + result.stdout  # the table at the end shows both scores for each category
    assert all(f"{category} " in printed for category in categories) and UNAMBIGUOUS_BIAS in printed


def test_a_category_without_a_published_sha256_is_downloaded_once_and_checked_after(
    tmp_path: Path, shared_data: Path, file_server: tuple[Path, str], online: None
) -> None:
    served, base = file_server
    lines = (shared_data / "bbq/Religion.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    ses = [json.dumps({**json.loads(line), "category": "SES"}) for line in lines]
    (served / "SES.jsonl").write_text("\n".join(ses) + "\n", encoding="utf-8")
    scenario = BBQScenario(categories=["SES"], test_size=10, base_url=base + "/{}.jsonl")
    assert len(scenario.get_instances(tmp_path)) == 40
    assert "SES.jsonl" in (tmp_path / "bbq/SHA256SUMS").read_text()
    (tmp_path / "bbq/SES.jsonl").write_text("\n".join(ses[:39]) + "\n", encoding="utf-8")  # changed since
    with pytest.raises(UserError, match="SES.jsonl has sha256 .* not the recorded"):
        scenario.get_instances(tmp_path)
