"""Prompts in HELM's layout, seeded class-balanced examples, eval subsampling, context-window fitting."""

import random
from collections import Counter

import pytest

from crfm_eval.adaptation.few_shot import downsample, sample_in_context_examples
from crfm_eval.adaptation.fitting import fit_prompt
from crfm_eval.adaptation.generation import GenerationAdapter
from crfm_eval.adaptation.methods import create_adapter
from crfm_eval.adaptation.prompt import build_prompt
from crfm_eval.errors import UserError
from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.models.service import LocalService
from crfm_eval.specs import AdaptationSpec, ModelSpec
from crfm_eval.states import Instance, Reference

FIVE_SHOT = AdaptationSpec(
    name="5shot", input_prefix="Passage: ", output_prefix="Answer: ", max_tokens=5, stop_sequences=["\n"]
)
SIMPLE = ModelSpec(name="simple/deterministic", client="crfm_eval.models.clients.simple.SimpleClient")


def instance(index: int, answer: str, split: str = "train", words: int = 3) -> Instance:
    text = " ".join(f"w{index}_{k}" for k in range(words))
    return Instance(f"{split}-{index}", f"{text}\nQuestion: Is {index}?", [Reference(answer, ["correct"])], split)


def test_prompt_layout_matches_helm():
    examples = [instance(1, "Yes"), instance(2, "No")]
    prompt = build_prompt(FIVE_SHOT, examples, instance(3, "Yes", "valid"))
    assert prompt == (
        "Passage: w1_0 w1_1 w1_2\nQuestion: Is 1?\nAnswer: Yes\n"
        "\n"
        "Passage: w2_0 w2_1 w2_2\nQuestion: Is 2?\nAnswer: No\n"
        "\n"
        "Passage: w3_0 w3_1 w3_2\nQuestion: Is 3?\nAnswer:"
    )


def test_instructions_and_global_prefix_come_first():
    spec = AdaptationSpec(name="x", global_prefix="<s>", instructions="Answer yes or no.", input_prefix="Q: ")
    assert (
        build_prompt(spec, [], instance(1, "Yes", "valid"))
        == "<s>Answer yes or no.\nQ: w1_0 w1_1 w1_2\nQuestion: Is 1?\n"
    )


POOL = [instance(i, "Yes" if i % 3 else "No") for i in range(60)]  # 40 Yes, 20 No


def test_examples_are_seeded_and_class_balanced():
    first = sample_in_context_examples(POOL, 5, random.Random("0/train_trial/0"))
    again = sample_in_context_examples(POOL, 5, random.Random("0/train_trial/0"))
    other = sample_in_context_examples(POOL, 5, random.Random("0/train_trial/1"))
    assert [i.id for i in first] == [i.id for i in again]
    assert [i.id for i in first] != [i.id for i in other]
    assert Counter(i.references[0].output for i in first) == {"Yes": 3, "No": 2}
    assert len({i.id for i in first}) == 5
    four = sample_in_context_examples(POOL, 4, random.Random(1))
    assert Counter(i.references[0].output for i in four) == {"Yes": 2, "No": 2}


def test_balance_gives_way_when_a_label_runs_out():
    pool = [instance(0, "No")] + [instance(i, "Yes") for i in range(1, 10)]
    chosen = sample_in_context_examples(pool, 5, random.Random(0))
    assert Counter(i.references[0].output for i in chosen) == {"Yes": 4, "No": 1}


def test_downsample_is_seeded_and_keeps_order():
    items = [instance(i, "Yes", "valid") for i in range(100)]
    first, again, other = downsample(items, 10, 0), downsample(items, 10, 0), downsample(items, 10, 1)
    assert first == again and first != other
    assert [i.id for i in first] == sorted((i.id for i in first), key=lambda x: int(x.split("-")[1]))
    assert downsample(items, None, 0) == items and downsample(items, 500, 0) == items


@pytest.fixture()
def service(tmp_path):
    service = LocalService([SIMPLE], tmp_path / "cache")
    yield service
    service.close()


def test_adapter_uses_the_same_examples_for_every_eval_instance_within_a_trial(service):
    eval_set = [instance(100 + i, "Yes", "valid") for i in range(8)]
    spec = AdaptationSpec(name="x", max_train_instances=3, num_train_trials=2)
    state = GenerationAdapter(spec, SIMPLE, service, seed=5).adapt(POOL + eval_set, max_eval_instances=None)
    assert len(state.request_states) == 16
    by_trial = {}
    for request_state in state.request_states:
        by_trial.setdefault(request_state.train_trial_index, set()).add(tuple(request_state.train_instance_ids))
    assert len(by_trial[0]) == 1 and len(by_trial[1]) == 1 and by_trial[0] != by_trial[1]
    assert all(rs.train_instance_ids[0].startswith("train-") for rs in state.request_states)


def test_adapter_never_shows_an_eval_instance_as_an_example(service):
    eval_set = [instance(i, "Yes" if i % 3 else "No", "valid") for i in range(0, 60, 2)]  # same inputs as POOL's evens
    spec = AdaptationSpec(name="x", max_train_instances=5, num_train_trials=4)
    state = GenerationAdapter(spec, SIMPLE, service, seed=0).adapt(POOL + eval_set, max_eval_instances=None)
    used = {example for rs in state.request_states for example in rs.train_instance_ids}
    assert used and all(int(example.split("-")[1]) % 2 == 1 for example in used)


def test_adapter_rejects_bad_settings(service):
    with pytest.raises(UserError, match="adaptation.method='multiple_choice' is not a known method; use one of: "):
        create_adapter(AdaptationSpec(name="x", method="multiple_choice"), SIMPLE, service, 0)
    with pytest.raises(UserError, match="no instance in adaptation.eval_splits"):
        GenerationAdapter(AdaptationSpec(name="x"), SIMPLE, service, 0).adapt(POOL, None)


whitespace_tokens = SimpleClient().tokenize


def test_fitting_drops_examples_before_truncating():
    examples = [instance(i, "Yes", words=20) for i in range(5)]
    eval_instance = instance(9, "No", "valid", words=20)
    full = len(whitespace_tokens(build_prompt(FIVE_SHOT, examples, eval_instance)))
    fitted = fit_prompt(FIVE_SHOT, examples, eval_instance, whitespace_tokens, max_sequence_length=full + 5)
    assert (len(fitted.examples), fitted.truncated, fitted.num_tokens) == (5, False, full)
    fitted = fit_prompt(FIVE_SHOT, examples, eval_instance, whitespace_tokens, max_sequence_length=full + 4)
    assert len(fitted.examples) == 4 and not fitted.truncated
    assert fitted.num_tokens <= full - 1 and fitted.examples == examples[:4]


def test_fitting_truncates_the_start_of_the_input_when_no_example_fits():
    eval_instance = instance(9, "No", "valid", words=200)
    fitted = fit_prompt(FIVE_SHOT, [instance(1, "Yes")], eval_instance, whitespace_tokens, max_sequence_length=60)
    assert fitted.truncated and fitted.examples == []
    assert fitted.num_tokens == len(whitespace_tokens(fitted.text)) <= 60 - FIVE_SHOT.max_tokens
    assert fitted.text.endswith("w9_199\nQuestion: Is 9?\nAnswer:")
    assert "w9_0 " not in fitted.text


def test_fitting_refuses_a_window_smaller_than_max_tokens():
    with pytest.raises(UserError, match="lower adaptation.max_tokens"):
        fit_prompt(FIVE_SHOT, [], instance(1, "Yes", "valid"), whitespace_tokens, max_sequence_length=5)
