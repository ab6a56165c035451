"""BoolQ contrast sets from the real file (../shared/data/boolq/contrast_sets), and a run that reports
accuracy on the originals, on the perturbed questions, and the sets' consistency."""

import json
from collections import Counter, defaultdict

import pytest
from conftest import run_cli

from crfm_eval.runner.readers import iter_per_instance_stats
from crfm_eval.scenarios.boolq import BoolQScenario, boolq_input


@pytest.fixture(scope="module")
def contrast_file(shared_data):
    return json.loads((shared_data / "boolq" / "contrast_sets" / "boolq_perturbed.json").read_text())["data"][1:]


def test_every_labelled_perturbation_beside_its_original(shared_data, contrast_file):
    instances = BoolQScenario(contrast_sets=True).get_instances(shared_data)
    valid = [i for i in instances if i.split == "valid"]
    labelled = [p for item in contrast_file for p in item["perturbed_questions"] if p["answer"] in ("TRUE", "FALSE")]
    assert (
        Counter(i.sub_split for i in valid)
        == {"original": 68, "perturbed": len(labelled)}
        == {
            "original": 68,
            "perturbed": 335,
        }
    )
    assert Counter(i.split for i in instances)["train"] == 1500  # in-context examples as usual
    by_set = defaultdict(list)
    for instance in valid:
        by_set[instance.contrast_set].append(instance)
    assert len(by_set) == 68 and all(members[0].id == set_id for set_id, members in by_set.items())
    dev = [json.loads(line) for line in (shared_data / "boolq" / "dev.jsonl").read_text().splitlines()]
    item = contrast_file[0]  # "was chasing cars written for grey's anatomy", answer FALSE
    original = next(i for i in valid if i.sub_split == "original" and "Chasing Cars" in i.input)
    row = dev[int(original.id.removeprefix("valid-"))]
    assert row["question"] == item["question"] and original.first_correct_reference.output == "No"
    perturbed = [i for i in valid if i.contrast_set == original.id and i.sub_split == "perturbed"]
    assert [i.input for i in perturbed] == [
        boolq_input(row["passage"], p["perturbed_q"]) for p in item["perturbed_questions"]
    ]
    assert [i.first_correct_reference.output for i in perturbed] == [
        "Yes" if p["answer"] == "TRUE" else "No" for p in item["perturbed_questions"]
    ]


def test_helms_choice_keeps_only_the_flipped_answers(shared_data):
    valid = [
        i
        for i in BoolQScenario(contrast_sets=True, contrast_flipped_only=True).get_instances(shared_data)
        if i.split == "valid"
    ]
    assert Counter(i.sub_split for i in valid) == {"original": 64, "perturbed": 173}
    answers = {i.id: i.first_correct_reference.output for i in valid if i.sub_split == "original"}
    assert all(i.first_correct_reference.output != answers[i.contrast_set] for i in valid if i.sub_split == "perturbed")


def test_a_contrast_run_reports_originals_perturbed_and_consistency(shared_data, tmp_path):
    # The default max_eval_instances=100 counts a set once: all 68 sets are evaluated whole.
    completed = run_cli("scenario=boolq_contrast", "model=simple", f"data_dir={shared_data}", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    run_dir = next((tmp_path / "outputs" / "runs" / "default").glob("*/run_spec.json")).parent
    assert run_dir.name.startswith("boolq_contrast")
    stats = {(s["name"], s["sub_split"]): s for s in json.loads((run_dir / "stats.json").read_text())}
    per_instance = list(iter_per_instance_stats(run_dir))
    values = {entry["instance_id"]: entry["values"]["exact_match"] for entry in per_instance}
    sets = defaultdict(list)
    for entry in per_instance:
        sets[entry["contrast_set"]].append(values[entry["instance_id"]])
    originals = [values[set_id] for set_id in sets]
    perturbed = [
        v for entry, v in ((e, values[e["instance_id"]]) for e in per_instance) if entry["sub_split"] == "perturbed"
    ]
    assert (stats[("exact_match", None)]["count"], stats[("exact_match", None)]["mean"]) == (
        403,
        sum(values.values()) / 403,
    )
    assert (stats[("exact_match", "original")]["count"], stats[("exact_match", "original")]["mean"]) == (
        68,
        sum(originals) / 68,
    )
    assert stats[("exact_match", "perturbed")]["mean"] == pytest.approx(sum(perturbed) / 335)
    consistent = [all(v == 1.0 for v in members) for members in sets.values()]
    assert (stats[("exact_match", "consistency")]["count"], stats[("exact_match", "consistency")]["mean"]) == (
        68,
        sum(consistent) / 68,
    )
