"""`adaptation=lm_eval_boolq` side by side with lm-evaluation-harness's `boolq` task: the same
prompts (lm-eval's own template rendered on the documents lm-eval reads), the same continuations,
and the same accuracy rule applied to what the lm-eval export holds."""

import json

import jinja2
import pytest
from conftest import REPO, run_cli

from crfm_eval.adaptation.methods import create_adapter
from crfm_eval.config_schema import compose_run_spec
from crfm_eval.models.service import LocalService
from crfm_eval.objects import create_object
from crfm_eval.runner.readers import iter_request_states, read_stats
from crfm_eval.scenarios.scenario import Scenario

# lm_eval/tasks/super_glue/boolq/default.yaml
DOC_TO_TEXT = "{{passage}}\nQuestion: {{question}}?\nAnswer:"
DOC_TO_CHOICE = ["no", "yes"]
TARGET_DELIMITER = " "  # lm-eval's default between the context and a choice


def superglue_docs(shared_data) -> list[dict]:
    """The validation documents as lm-eval reads them (Hugging Face's super_glue/boolq): SuperGLUE
    joins the title and the passage with " -- " (../shared/data/boolq/SOURCE.md)."""
    rows = [json.loads(line) for line in (shared_data / "boolq" / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    return [
        {"question": r["question"], "passage": f"{r['title']} -- {r['passage']}", "idx": i, "label": int(r["answer"])}
        for i, r in enumerate(rows)
    ]


def test_every_prompt_and_continuation_is_lm_evals(shared_data, tmp_path):
    spec = compose_run_spec("adaptation=lm_eval_boolq", "model=simple", config_dir=REPO / "conf")
    scenario = create_object(spec.scenario._target_, spec.scenario.args, Scenario, "scenario")
    instances = scenario.get_instances(shared_data)
    service = LocalService([spec.model], tmp_path / "cache")
    try:
        states = create_adapter(spec.adaptation, spec.model, service, spec.seed).adapt(instances, None).request_states
    finally:
        service.close()
    # lm-eval renders doc_to_text with jinja2 (StrictUndefined, trailing newlines kept).
    template = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True).from_string(DOC_TO_TEXT)
    docs = superglue_docs(shared_data)
    assert len(states) == 2 * len(docs) == 2 * 3270
    for doc in docs:
        pair = states[2 * doc["idx"] : 2 * doc["idx"] + 2]
        assert [s.instance.id for s in pair] == [f"valid-{doc['idx']}"] * 2
        context = template.render(**doc)
        assert [s.request.prompt for s in pair] == [context, context]
        assert [s.request.continuation for s in pair] == [TARGET_DELIMITER + c for c in DOC_TO_CHOICE]
        correct = [i for i, ref in enumerate(pair[0].instance.references) if ref.is_correct]
        assert correct == [doc["label"]]


@pytest.fixture(scope="module")
def lm_eval_run(shared_data, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("lm_eval_boolq")
    command = ["scenario=boolq", "adaptation=lm_eval_boolq", "model=simple", "max_eval_instances=60"]
    completed = run_cli(*command, f"data_dir={shared_data}", cwd=workdir)
    assert completed.returncode == 0, completed.stderr
    return workdir, next((workdir / "outputs/runs/default").glob("*/run_spec.json")).parent


def test_lm_evals_accuracy_rule_on_the_export_gives_our_accuracy(shared_data, lm_eval_run):
    tmp_path, run_dir = lm_eval_run
    completed = run_cli("export", "--format", "lm-eval", str(run_dir), str(tmp_path / "lm"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    (samples_path,) = (tmp_path / "lm" / "simple__deterministic").glob("samples_boolq_*.jsonl")
    (results_path,) = (tmp_path / "lm" / "simple__deterministic").glob("results_*.json")
    samples = [json.loads(line) for line in samples_path.read_text(encoding="utf-8").splitlines()]
    results = json.loads(results_path.read_text(encoding="utf-8"))
    assert len(samples) == 60 and results["configs"]["boolq"]["output_type"] == "multiple_choice"
    docs = {doc["idx"]: doc for doc in superglue_docs(shared_data)}
    accuracies = []
    for sample in samples:
        doc = docs[sample["doc_id"]]
        args = [sample["arguments"][f"gen_args_{i}"] for i in range(2)]
        assert [a["arg_1"] for a in args] == [" no", " yes"] and args[0]["arg_0"].startswith(doc["passage"])
        assert sample["target"] == str(doc["label"])
        # lm-eval's multiple_choice process_results: the argmax of the options' log-likelihoods.
        lls = [float(response[0]) for response in sample["filtered_resps"]]
        assert [r[0] for r in sample["resps"]] == sample["filtered_resps"] and sample["filtered_resps"][0][1] in (
            "True",
            "False",
        )
        accuracy = float(max(range(2), key=lambda i: (lls[i], -i)) == doc["label"])
        assert sample["acc"] == accuracy
        accuracies.append(accuracy)
    ours = next(s for s in read_stats(run_dir) if s["name"] == "exact_match")
    assert results["results"]["boolq"]["acc,none"] == pytest.approx(sum(accuracies) / 60) == pytest.approx(ours["mean"])
    assert results["higher_is_better"]["boolq"]["acc"] is True


def test_helm_export_asks_log_likelihoods_the_way_helm_does(lm_eval_run):
    """HELM's separate multiple choice: the prompt with the option appended, echoed, nothing generated."""
    tmp_path, run_dir = lm_eval_run
    completed = run_cli("export", "--format", "helm", str(run_dir), str(tmp_path / "helm"), cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    exported = json.loads((tmp_path / "helm" / "scenario_state.json").read_text(encoding="utf-8"))["request_states"]
    ours = list(iter_request_states(run_dir))
    assert len(exported) == len(ours) == 120
    for helm_state, state in zip(exported, ours, strict=True):
        request = helm_state["request"]
        assert request["prompt"] == state["request"]["prompt"] + state["request"]["continuation"]
        assert request["echo_prompt"] is True and request["max_tokens"] == 0
        assert helm_state["reference_index"] == state["reference_index"] and helm_state["request_mode"] == "original"
    assert [s["reference_index"] for s in exported[:2]] == [0, 1]
