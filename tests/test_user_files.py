"""Your own data, no code: JSONL and CSV files the tests write (from the real BoolQ and MMLU files),
read into instances, run end to end, and every documented bad input refused in one sentence."""

import csv
import json
import re
from pathlib import Path

import pytest
from conftest import run_cli

from crfm_eval.errors import UserError
from crfm_eval.runner.outputs import MANIFEST_FILE, PER_INSTANCE_STATS_FILE, SCENARIO_STATE_FILE, STATS_FILE
from crfm_eval.runner.readers import iter_per_instance_stats, iter_request_states
from crfm_eval.scenarios.user_files import CSVScenario, JSONLScenario

RESULT_FILES = (STATS_FILE, SCENARIO_STATE_FILE, PER_INSTANCE_STATS_FILE, MANIFEST_FILE)


def _boolq_rows(shared_data, count):
    lines = (shared_data / "boolq" / "dev.jsonl").read_text().splitlines()[:count]
    return [json.loads(line) for line in lines]


def _write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def _run_dir(workdir: Path) -> Path:
    return next((workdir / "outputs" / "runs" / "default").glob("*/run_spec.json")).parent


def _stats(run_dir: Path):
    return {(s["name"], s["split"], s.get("sub_split")): s for s in json.loads((run_dir / "stats.json").read_text())}


def test_boolq_in_lm_evals_format_through_scenario_jsonl(shared_data):
    scenario = JSONLScenario(
        splits={"valid": "boolq/dev.jsonl", "train": "boolq/train_head1500.jsonl"},
        input_template="{passage}\nQuestion: {question}?",
        choices=["no", "yes"],
        answer_field="answer",
    )
    instances = scenario.get_instances(shared_data)  # relative paths: found under data_dir
    valid = [i for i in instances if i.split == "valid"]
    assert len(valid) == 3270 and len(instances) == 3270 + 1500
    first = _boolq_rows(shared_data, 1)[0]
    assert valid[0].input == f"{first['passage']}\nQuestion: {first['question']}?"  # as written, not capitalized
    assert [(r.output, r.is_correct) for r in valid[0].references] == [("no", True), ("yes", False)]
    assert sum(i.references[1].is_correct for i in valid) == 2033  # answer true -> "yes" (SOURCE.md)


def _mmlu_csv(shared_data, path: Path) -> Path:
    """A CSV with a header, two MMLU subjects' dev rows (train) and first 6 test rows (test)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["question", "A", "B", "C", "D", "answer", "subject", "part"])
        for subject in ("anatomy", "astronomy"):
            for kind, split, limit in (("dev", "train", 5), ("test", "test", 6)):
                with (shared_data / "mmlu" / kind / f"{subject}_{kind}.csv").open(newline="") as source:
                    for row in list(csv.reader(source))[:limit]:
                        writer.writerow([*row, subject, split])
    return path


def test_a_csv_file_runs_end_to_end_with_a_macro_average_over_its_parts(shared_data, tmp_path):
    data = _mmlu_csv(shared_data, tmp_path / "mini_mmlu.csv")
    completed = run_cli(
        "scenario=csv",
        "model=simple",
        f"scenario.args.path={data}",
        "scenario.args.split_field=part",
        "scenario.args.input_field=question",
        "scenario.args.choice_fields=[A,B,C,D]",
        "scenario.args.sub_split_field=subject",
        "adaptation.instructions='Questions about {sub_split}.'",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stderr
    run_dir = _run_dir(tmp_path)
    states = list(iter_request_states(run_dir))
    assert len(states) == 12
    for state in states:
        subject = state["instance"]["sub_split"]
        assert state["request"]["prompt"].startswith(f"Questions about {subject}.\n")
        examples = state["train_instance_ids"]
        assert len(examples) == 5 and all(example.startswith("train-") for example in examples)
    stats = _stats(run_dir)
    per_subject = [stats[("exact_match", "test", subject)] for subject in ("anatomy", "astronomy")]
    assert [stat["count"] for stat in per_subject] == [6, 6]
    macro = stats[("exact_match", "test", "macro_average")]
    assert macro["count"] == 2 and macro["mean"] == pytest.approx((per_subject[0]["mean"] + per_subject[1]["mean"]) / 2)
    per_instance = list(iter_per_instance_stats(run_dir))
    assert {entry["sub_split"] for entry in per_instance} == {"anatomy", "astronomy"}


def test_answers_as_index_text_letter_boolean_or_free_text(tmp_path):
    rows = [
        {"q": "index", "options": ["a", "b", "c"], "answer": 2},
        {"q": "text", "options": ["a", "b", "c"], "answer": "b"},
        {"q": "letter", "options": ["a", "b", "c"], "answer": "A"},
    ]
    data = _write_jsonl(tmp_path / "answers.jsonl", rows)
    instances = JSONLScenario(path=str(data), input_field="q", choices_field="options").get_instances(tmp_path)
    assert [[r.is_correct for r in i.references] for i in instances] == [
        [False, False, True],
        [False, True, False],
        [True, False, False],
    ]
    data = _write_jsonl(tmp_path / "booleans.jsonl", [{"q": "yes?", "answer": True}, {"q": "no?", "answer": "false"}])
    instances = JSONLScenario(path=str(data), input_field="q", choices=["no", "yes"]).get_instances(tmp_path)
    assert [i.first_correct_reference.output for i in instances] == ["yes", "no"]
    data = _write_jsonl(tmp_path / "free.jsonl", [{"q": "capital of France?", "answer": ["Paris", "paris"]}])
    (only,) = JSONLScenario(path=str(data), input_field="q").get_instances(tmp_path)
    assert [(r.output, r.is_correct) for r in only.references] == [("Paris", True), ("paris", True)]


def test_one_file_per_split_a_few_shot_file_and_a_headerless_csv(tmp_path):
    (tmp_path / "train.csv").write_text("Q1?,x,y,B\n")
    (tmp_path / "test.csv").write_text('"Q2, with a comma?",x,y,A\n"Q3?\nTwo lines",x,y,1\n')
    (tmp_path / "shots.csv").write_text("Q0?,x,y,A\n")
    scenario = CSVScenario(
        splits={"train": "train.csv", "test": "test.csv"},
        few_shot_path="shots.csv",
        columns=["question", "o1", "o2", "answer"],
        input_field="question",
        choice_fields=["o1", "o2"],
    )
    instances = scenario.get_instances(tmp_path)  # relative names, not in the current directory: under data_dir
    assert [(i.id, i.split, i.input, i.first_correct_reference.output) for i in instances] == [
        ("train-1", "train", "Q1?", "y"),
        ("test-1", "test", "Q2, with a comma?", "x"),
        ("test-2", "test", "Q3?\nTwo lines", "y"),
        ("few_shot-1", "train", "Q0?", "x"),
    ]


BAD_INPUTS = [
    # (file name, content, extra overrides, the sentence's telling part)
    (
        "broken.jsonl",
        '{"q": "fine", "answer": "a"}\n{"q": "no closing brace"\n',
        [],
        r"broken.jsonl line 2 is not valid JSON",
    ),
    (
        "fields.jsonl",
        '{"q": "fine", "answer": "a"}\n{"question": "renamed", "answer": "a"}\n',
        [],
        r"fields.jsonl line 2 has no field 'q' \(scenario.args.input_field\); its fields are: answer, question.",
    ),
    (
        "answer.jsonl",
        '{"q": "fine", "answer": "yes"}\n{"q": "odd", "answer": 7}\n',
        ["scenario.args.choices=[no,yes]"],
        r"answer.jsonl line 2: the answer 7 is not an option's index \(0-1\), text or letter, or a boolean; "
        r"the options are \['no', 'yes'\].",
    ),
    ("short.csv", "q,answer\nfine,a\nonly one field\n", [], r"short.csv line 3 has 1 fields but the header has 2"),
]


@pytest.mark.parametrize("name, content, overrides, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_its_sentence(tmp_path, name, content, overrides, message):
    (tmp_path / name).write_text(content)
    scenario_class = CSVScenario if name.endswith(".csv") else JSONLScenario
    arguments = {"path": str(tmp_path / name), "input_field": "q"}
    if overrides:
        arguments["choices"] = ["no", "yes"]
    with pytest.raises(UserError, match=message):
        scenario_class(**arguments).get_instances(tmp_path)


@pytest.mark.parametrize("case", [BAD_INPUTS[0], BAD_INPUTS[-1]], ids=["jsonl", "csv"])
def test_a_run_on_bad_input_ends_in_its_sentence_and_writes_no_result(tmp_path, case):
    name, content, overrides, message = case
    (tmp_path / name).write_text(content)
    kind = "csv" if name.endswith(".csv") else "jsonl"
    overrides = [f"scenario={kind}", "model=simple", f"scenario.args.path={name}", "scenario.args.input_field=q"]
    completed = run_cli(*overrides, cwd=tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1 and re.search(message, output), output
    assert "Traceback" not in output
    for result in RESULT_FILES:
        assert not list((tmp_path / "outputs").rglob(result)), result


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"input_field": "q"}, r"Give exactly one of scenario.args.path \(one file\) and scenario.args.splits"),
        ({"path": "x.jsonl"}, "Give exactly one of scenario.args.input_field and scenario.args.input_template"),
        ({"path": "x.jsonl", "input_template": "{a.__class__}"}, r"names \{a.__class__\}; use plain field names"),
        ({"path": "x.jsonl", "input_field": "q", "choices": ["a"], "choices_field": "o"}, "at most one of"),
        ({"path": "x.jsonl", "input_field": "q", "split": "holdout"}, r"the split 'holdout' is not one of train"),
    ],
)
def test_bad_arguments_are_refused_before_any_file_is_read(arguments, message):
    with pytest.raises(UserError, match=message):
        JSONLScenario(**arguments)


def test_file_level_mistakes(tmp_path):
    with pytest.raises(UserError, match=r"scenario.args.path='missing.jsonl' is not a file \(looked for"):
        JSONLScenario(path="missing.jsonl", input_field="q").get_instances(tmp_path)
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(UserError, match="empty.jsonl has no rows"):
        JSONLScenario(path=str(tmp_path / "empty.jsonl"), input_field="q").get_instances(tmp_path)
    (tmp_path / "latin1.csv").write_bytes("q,answer\nfine,a\ncaf\xe9,b\n".encode("latin-1"))
    with pytest.raises(UserError, match=r"latin1.csv line \d is not UTF-8 text"):
        CSVScenario(path=str(tmp_path / "latin1.csv"), input_field="q").get_instances(tmp_path)
    _write_jsonl(tmp_path / "ids.jsonl", [{"id": "a", "q": "1", "answer": "x"}, {"id": "a", "q": "2", "answer": "y"}])
    with pytest.raises(UserError, match=r"ids.jsonl line 2 repeats the id 'a' of .*ids.jsonl line 1"):
        JSONLScenario(path=str(tmp_path / "ids.jsonl"), input_field="q", id_field="id").get_instances(tmp_path)


def test_the_readmes_boolq_through_jsonl_example_is_lm_evals_boolq(shared_data, tmp_path):
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    marker = "# my_conf/scenario/boolq_jsonl.yaml"
    block = readme.split(marker, 1)[1].split("```", 1)[0].split("\n", 1)[1]
    assert "adaptation=mc_separate \"adaptation.input_prefix=''\" adaptation.max_train_instances=0" in readme
    (tmp_path / "my_conf" / "scenario").mkdir(parents=True)
    (tmp_path / "my_conf" / "scenario" / "boolq_jsonl.yaml").write_text(block)
    completed = run_cli(
        "--config-dir",
        "my_conf",
        "scenario=boolq_jsonl",
        f"data_dir={shared_data}",
        "adaptation=mc_separate",
        "adaptation.input_prefix=''",
        "adaptation.max_train_instances=0",
        "model=simple",
        "max_eval_instances=20",
        cwd=tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    states = list(iter_request_states(_run_dir(tmp_path)))
    assert len(states) == 40  # two continuations per question
    rows = _boolq_rows(shared_data, 3270)
    for state in states:
        row = rows[int(state["instance"]["id"].removeprefix("valid-")) - 1]
        # lm-evaluation-harness's boolq: doc_to_text on SuperGLUE's passage ("<title> -- <passage>"),
        # then " no" / " yes" scored.
        assert (
            state["request"]["prompt"] == f"{row['title']} -- {row['passage']}\nQuestion: {row['question']}?\nAnswer:"
        )
        assert state["request"]["continuation"] == [" no", " yes"][state["reference_index"]]
        right = [r["output"] for r in state["instance"]["references"] if "correct" in r["tags"]]
        assert right == ["yes" if row["answer"] else "no"]
    # Accuracy is the argmax of the two continuations' log-likelihoods (lm-eval's acc; first on a tie).
    scores: dict[str, dict[int, float]] = {}
    for state in states:
        scores.setdefault(state["instance"]["id"], {})[state["reference_index"]] = state["result"]["completions"][0][
            "logprob"
        ]
    references = {state["instance"]["id"]: state["instance"]["references"] for state in states}
    right = 0
    for instance_id, by_index in scores.items():
        chosen = max(by_index, key=lambda index: (by_index[index], -index))
        right += "correct" in references[instance_id][chosen]["tags"]
    exact = _stats(_run_dir(tmp_path))[("exact_match", "valid", None)]
    assert exact["count"] == 20 and exact["mean"] == right / 20
