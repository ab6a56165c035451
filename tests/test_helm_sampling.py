"""`adaptation.sampling=helm` against what crfm-helm 0.5.16 recorded on the same BoolQ files
(../shared/fixtures/helm_boolq_5shot.json): the examples of trial 0, the eval subsample's draw
order, and the sha256 of the first five prompts; and HELM's way of fitting a prompt."""

import dataclasses
import hashlib
import json

import numpy as np
import pytest

from crfm_eval.adaptation.generation import GenerationAdapter
from crfm_eval.adaptation.prompt import build_prompt
from crfm_eval.errors import UserError
from crfm_eval.models.service import LocalService
from crfm_eval.scenarios.boolq import BoolQScenario
from crfm_eval.scenarios.mmlu import MMLUScenario
from crfm_eval.specs import AdaptationSpec, ModelSpec
from crfm_eval.states import Instance, Reference

SIMPLE = ModelSpec(
    name="simple/deterministic",
    client="crfm_eval.models.clients.simple.SimpleClient",
    max_sequence_length=100_000,  # HELM's recorded prompts are uncut
)


@pytest.fixture(scope="module")
def recorded(shared_fixtures):
    return json.loads((shared_fixtures / "helm_boolq_5shot.json").read_text())


@pytest.fixture(scope="module")
def helm_spec(recorded) -> AdaptationSpec:
    """HELM's BoolQ adapter spec, as recorded, with HELM's sampling."""
    adapter = recorded["adapter"]
    fields = {name: adapter[name] for name in adapter if name in {f.name for f in dataclasses.fields(AdaptationSpec)}}
    return AdaptationSpec(name="helm_5shot", **fields, sampling="helm")


@pytest.fixture(scope="module")
def boolq(shared_data):
    return BoolQScenario().get_instances(shared_data)


@pytest.fixture()
def service(tmp_path):
    service = LocalService([SIMPLE], tmp_path / "cache")
    yield service
    service.close()


def adapt(spec, instances, service, max_eval_instances, model=SIMPLE, seed=0):
    return GenerationAdapter(spec, model, service, seed).adapt(instances, max_eval_instances).request_states


def test_trial_0_examples_and_subsample_order_are_helms(helm_spec, boolq, service, recorded):
    states = adapt(helm_spec, boolq, service, recorded["eval_subsample"]["max_eval_instances"])
    examples = recorded["in_context_examples_trial0"]
    assert states[0].train_instance_ids == [f"train-{line}" for line in examples["train_line_indices"]]
    by_id = {instance.id: instance for instance in boolq}
    labels = [by_id[example_id].first_correct_reference.output for example_id in states[0].train_instance_ids]
    assert labels == examples["labels"]
    # One fixed set for the whole trial.
    assert all(state.train_instance_ids == states[0].train_instance_ids for state in states)
    subsample = recorded["eval_subsample"]
    assert len(states) == subsample["max_eval_instances"]
    drawn = [state.instance.id for state in states[:20]]
    assert drawn == [f"valid-{line}" for line in subsample["first_20_dev_line_indices_in_draw_order"]]


def test_first_five_prompts_are_byte_identical_to_helms(helm_spec, boolq, service, recorded):
    # With no subsample HELM keeps the dev file's order; five dev lines are enough to ask.
    train = [instance for instance in boolq if instance.split == "train"]
    dev = [instance for instance in boolq if instance.split == "valid"][:5]
    states = adapt(helm_spec, train + dev, service, None)
    for state, expected in zip(states, recorded["uncut_prompts_first_5_dev_lines"], strict=True):
        assert state.instance.id == f"valid-{expected['dev_line_index']}"
        assert not state.prompt_truncated and state.num_train_instances == 5
        assert len(state.request.prompt) == expected["prompt_chars"]
        assert hashlib.sha256(state.request.prompt.encode("utf-8")).hexdigest() == expected["prompt_sha256"]


def test_default_sampling_stays_ours(helm_spec, boolq, service, recorded):
    ours = dataclasses.replace(helm_spec, sampling=AdaptationSpec(name="x").sampling)
    assert ours.sampling == "crfm_eval"
    states = adapt(ours, boolq, service, recorded["eval_subsample"]["max_eval_instances"])
    helm_lines = recorded["in_context_examples_trial0"]["train_line_indices"]
    assert states[0].train_instance_ids != [f"train-{line}" for line in helm_lines]
    # Ours keeps the data set's order in the subsample.
    lines = [int(state.instance.id.split("-")[1]) for state in states]
    assert lines == sorted(lines)


def _instance(index: int, answer: str, split: str = "train", words: int = 3) -> Instance:
    text = " ".join(f"w{index}_{k}" for k in range(words))
    return Instance(f"{split}-{index}", f"{text}\nQuestion: Is {index}?", [Reference(answer, ["correct"])], split)


SMALL = AdaptationSpec(name="5shot", input_prefix="Passage: ", output_prefix="Answer: ", max_tokens=5)


def _window(spec: AdaptationSpec, examples, eval_instance, service) -> int:
    """The context window in which exactly this prompt fits (the simple model's whitespace tokens)."""
    return len(service.tokenize(SIMPLE.name, build_prompt(spec, examples, eval_instance))) + spec.max_tokens


def test_helm_fitting_drops_examples_from_the_end(service):
    helm = dataclasses.replace(SMALL, sampling="helm")
    train = [_instance(i, "Yes" if i % 2 else "No", words=20) for i in range(5)]
    eval_instance = _instance(99, "Yes", "valid", words=20)
    chosen = adapt(helm, train + [eval_instance], service, None)[0].train_instance_ids
    assert len(chosen) == 5
    by_id = {instance.id: instance for instance in train}
    window = _window(helm, [by_id[i] for i in chosen[:3]], eval_instance, service)
    model = dataclasses.replace(SIMPLE, max_sequence_length=window)
    state = adapt(helm, train + [eval_instance], service, None, model=model)[0]
    assert state.train_instance_ids == chosen[:3] and not state.prompt_truncated
    assert state.request.prompt == build_prompt(helm, [by_id[i] for i in chosen[:3]], eval_instance)


def test_helm_cuts_the_end_of_a_prompt_that_fits_with_no_example(service):
    helm = dataclasses.replace(SMALL, sampling="helm")
    train = [_instance(i, "Yes" if i % 2 else "No") for i in range(5)]
    eval_instance = _instance(99, "Yes", "valid", words=200)
    uncut = build_prompt(helm, [], eval_instance)
    model = dataclasses.replace(SIMPLE, max_sequence_length=50 + helm.max_tokens)
    helm_state = adapt(helm, train + [eval_instance], service, None, model=model)[0]
    assert helm_state.prompt_truncated and helm_state.num_train_instances == 0
    # HELM keeps the first 50 tokens: the passage's start survives, the question and "Answer:" do not.
    assert helm_state.request.prompt == "".join(service.tokenize(SIMPLE.name, uncut)[:50])
    assert helm_state.num_prompt_tokens == 50 and not helm_state.request.prompt.endswith("Answer:")
    # Ours cuts the start of the input instead, keeping the question next to the answer prefix.
    ours_state = adapt(SMALL, train + [eval_instance], service, None, model=model)[0]
    assert ours_state.prompt_truncated and ours_state.request.prompt.endswith("Question: Is 99?\nAnswer:")


def test_unknown_sampling_names_the_known_ones(service):
    with pytest.raises(
        UserError, match="adaptation.sampling='helm5' is not a known sampling; use one of: crfm_eval, helm"
    ):
        GenerationAdapter(dataclasses.replace(SMALL, sampling="helm5"), SIMPLE, service, 0)


def test_each_mmlu_subject_is_sampled_as_helms_run_of_that_subject_alone(helm_spec, service, shared_data):
    """HELM runs each MMLU subject on its own: its test questions subsampled with np.random.seed(0),
    its own dev questions as examples. A two-subject run gives each subject exactly the prompts of its
    one-subject run, in HELM's draw order."""
    helm_spec = dataclasses.replace(helm_spec, eval_splits=["test"])
    both = MMLUScenario(["anatomy", "astronomy"]).get_instances(shared_data)
    states = adapt(helm_spec, both, service, max_eval_instances=10)
    for subject in ("anatomy", "astronomy"):
        alone = adapt(helm_spec, MMLUScenario(subject).get_instances(shared_data), service, max_eval_instances=10)
        mine = [s for s in states if s.instance.sub_split == subject]
        assert [(s.instance.id, s.request.prompt) for s in mine] == [(s.instance.id, s.request.prompt) for s in alone]
        # HELM's runner, literally: np.random.seed(0); np.random.choice(instances, k, replace=False).
        tests = [i for i in both if i.sub_split == subject and i.split == "test"]
        np.random.seed(0)
        drawn = list(np.random.choice(np.array(tests, dtype=object), 10, replace=False))
        assert [s.instance.id for s in mine] == [i.id for i in drawn]
        dev_ids = {i.id for i in both if i.sub_split == subject and i.split == "train"}
        assert all(set(s.train_instance_ids) <= dev_ids and len(s.train_instance_ids) == 5 for s in mine)
