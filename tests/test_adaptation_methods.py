"""Each adaptation method's requests byte for byte, and its scores against hand-computed sums of the
simple model's log-probabilities (0.5 per character for a token already in the text before it,
1.0 per character otherwise)."""

import math

import pytest

from crfm_eval.adaptation.methods import ADAPTERS, create_adapter
from crfm_eval.errors import UserError
from crfm_eval.execution.executor import Executor
from crfm_eval.metrics.calibration import CalibrationMetric
from crfm_eval.metrics.efficiency import EfficiencyMetric
from crfm_eval.metrics.language_modeling import LanguageModelingMetric
from crfm_eval.metrics.matching import MatchingMetric
from crfm_eval.metrics.metric import compute_stats
from crfm_eval.metrics.multiple_choice import JointChoiceMetric, MultipleChoiceMetric
from crfm_eval.models.service import LocalService
from crfm_eval.specs import AdaptationSpec, ExecutionSpec, ModelSpec
from crfm_eval.states import Instance, Reference

SIMPLE = ModelSpec(name="simple/deterministic", client="crfm_eval.models.clients.simple.SimpleClient")
FORMAT = dict(
    input_prefix="Q: ", input_suffix="\n", output_prefix="Answer: ", output_suffix="\n", max_train_instances=1
)


def mc(index: int, split: str, correct: int, options=("red", "green", "blue")) -> Instance:
    references = [Reference(text, ["correct"] if i == correct else []) for i, text in enumerate(options)]
    return Instance(f"{split}-{index}", f"color {index}?", references, split)


TRAIN = [mc(1, "train", 2)]
EVAL = mc(7, "valid", 1)


@pytest.fixture()
def service(tmp_path):
    service = LocalService([SIMPLE], tmp_path / "cache")
    yield service
    service.close()


def adapt(service, method: str, instances=(*TRAIN, EVAL), **changes):
    spec = AdaptationSpec(name="x", method=method, **{**FORMAT, **changes})
    return create_adapter(spec, SIMPLE, service, seed=0).adapt(list(instances), None)


def test_joint_lists_lettered_options_and_maps_the_letter_back(service):
    state = adapt(service, "multiple_choice_joint", max_tokens=1).request_states
    assert len(state) == 1
    assert state[0].request.prompt == (
        "Q: color 1?\nA. red\nB. green\nC. blue\nAnswer: C\n\nQ: color 7?\nA. red\nB. green\nC. blue\nAnswer:"
    )
    assert state[0].output_mapping == {"A": "red", "B": "green", "C": "blue"}
    assert state[0].request.continuation is None and state[0].request.max_tokens == 1


def test_joint_shuffles_options_with_the_seed_when_asked(service):
    many = [mc(i, "valid", i % 3, ("w", "x", "y", "z")) for i in range(20)]
    first = adapt(service, "multiple_choice_joint", many, max_train_instances=0, shuffle_references=True)
    again = adapt(service, "multiple_choice_joint", many, max_train_instances=0, shuffle_references=True)
    assert [s.request.prompt for s in first.request_states] == [s.request.prompt for s in again.request_states]
    orders = {tuple(s.output_mapping.values()) for s in first.request_states}
    assert len(orders) > 1 and all(sorted(order) == ["w", "x", "y", "z"] for order in orders)
    for state in first.request_states:  # the letter still names the option shown, and the right one
        correct = state.instance.first_correct_reference.output
        letter = next(k for k, v in state.output_mapping.items() if v == correct)
        assert f"\n{letter}. {correct}\n" in state.request.prompt
    given = adapt(service, "multiple_choice_joint", many, max_train_instances=0)
    assert {tuple(s.output_mapping.values()) for s in given.request_states} == {("w", "x", "y", "z")}


def test_separate_scores_each_reference_after_the_shared_prompt(service):
    states = adapt(service, "multiple_choice_separate_original").request_states
    context = "Q: color 1?\nAnswer: blue\n\nQ: color 7?\nAnswer:"
    assert [(s.request.prompt, s.request.continuation, s.reference_index) for s in states] == [
        (context, " red", 0),
        (context, " green", 1),
        (context, " blue", 2),
    ]
    assert all(s.request.max_tokens == 0 and s.request_mode == "original" for s in states)


def test_calibrated_adds_each_reference_after_the_bare_output_prefix(service):
    states = adapt(service, "multiple_choice_separate_calibrated").request_states
    assert [(s.request.prompt, s.request.continuation, s.request_mode) for s in states[3:]] == [
        ("Answer:", " red", "calibration"),
        ("Answer:", " green", "calibration"),
        ("Answer:", " blue", "calibration"),
    ]
    assert [s.request_mode for s in states[:3]] == ["original"] * 3


def run(service, method: str, metrics, instances=(*TRAIN, EVAL), **changes):
    state = adapt(service, method, instances, **changes)
    state = Executor(ExecutionSpec(name="local", cache_dir="unused", progress=False), service).execute_all(state)
    per_instance, stats, _ = compute_stats(metrics, state)
    return state, per_instance, {s.name: s for s in stats}


def test_separate_scores_are_the_sums_of_the_simple_models_logprobs(service):
    state, per_instance, _ = run(service, "multiple_choice_separate_original", [MultipleChoiceMetric(ks=[2])])
    # After "...Answer: blue\n\nQ: color 7?\nAnswer:": " red" and " green" are new (-4, -6),
    # " blue" occurs already (-0.5 x 5 = -2.5): the model picks blue; green is right.
    assert [s.result.completions[0].logprob for s in state.request_states] == [-4.0, -6.0, -2.5]
    values = per_instance[0].values
    assert values["exact_match"] == 0.0 and values["exact_match@2"] == 0.0  # ranks: blue, red, green
    # Per byte of the reference: -4/3, -6/5, -2.5/4: blue again. Per token (one each): blue.
    assert (values["acc_norm"], values["acc_norm_per_token"]) == (0.0, 0.0)
    expected = math.exp(-2.5) / (math.exp(-4.0) + math.exp(-6.0) + math.exp(-2.5))
    assert values["max_prob"] == pytest.approx(expected, rel=1e-12)


def test_calibrated_scores_subtract_the_neutral_contexts(service):
    state, per_instance, _ = run(service, "multiple_choice_separate_calibrated", [MultipleChoiceMetric(ks=[2])])
    # After "Answer:" every option is new: -4, -6, -5. Calibrated: 0, 0, +2.5: blue still wins.
    assert [s.result.completions[0].logprob for s in state.request_states[3:]] == [-4.0, -6.0, -5.0]
    values = per_instance[0].values
    assert values["exact_match"] == 0.0 and values["exact_match@2"] == 0.0  # 2.5, then red (0, first)
    expected = math.exp(2.5) / (1 + 1 + math.exp(2.5))
    assert values["max_prob"] == pytest.approx(expected, rel=1e-12)


def test_per_byte_normalization_can_pick_another_option(service):
    # After "Answer:" (no example): " no" costs -3, " maybe" -6; per byte of "no"/"maybe": -1.5, -1.2.
    instance = Instance("valid-0", "hm?", [Reference("no"), Reference("maybe", ["correct"])], "valid")
    _, per_instance, _ = run(service, "multiple_choice_separate_original", [MultipleChoiceMetric()], [instance])
    values = per_instance[0].values
    assert (values["exact_match"], values["acc_norm"], values["acc_norm_per_token"]) == (0.0, 1.0, 0.0)


def test_language_modeling_scores_every_token_once_in_windows(service, tmp_path):
    words = " ".join(f"w{i % 7}" for i in range(40))
    document = Instance("valid-0", words, [], "valid")
    small = ModelSpec(name=SIMPLE.name, client=SIMPLE.client, max_sequence_length=12)
    spec = AdaptationSpec(name="lm", method="language_modeling", max_train_instances=0)
    state = create_adapter(spec, small, service, seed=0).adapt([document], None)
    states = state.request_states
    # 12 tokens less the prefix token and a margin of 1: windows of 10 tokens, 9 of them scored.
    assert "".join(s.request.continuation for s in states) == words
    tokens = service.tokenize(SIMPLE.name, words)
    assert [len(service.tokenize(SIMPLE.name, s.request.continuation)) for s in states] == [9, 9, 9, 9, 4]
    assert states[0].request.prompt == ""
    for s in states[1:]:  # the context is the text just before the window: one token, the last window more
        assert words.index(s.request.prompt + s.request.continuation) >= 0
        assert len(service.tokenize(SIMPLE.name, s.request.prompt + s.request.continuation)) <= 10
    assert len(service.tokenize(SIMPLE.name, states[1].request.prompt)) == 1
    assert len(service.tokenize(SIMPLE.name, states[-1].request.prompt)) == 6
    executed = Executor(ExecutionSpec(name="local", cache_dir="x", progress=False), service).execute_all(state)
    per_instance, stats, _ = compute_stats([LanguageModelingMetric()], executed)
    # By hand: a token already in its window's text costs 0.5 per character, else 1.0 ("w0" at the
    # start has 2 characters, " w3" 3). Window 0 (w0..w6 w0 w1): -2 - 6*3 - 3 (" w0" with its space is
    # new) - 1.5 = -24.5. Windows 1-3: six new tokens, three repeats (one of them the context token):
    # -22.5 each. Window 4 (w1..w4 after w2 w3 w4 w5 w6 w0): -3 - 3*1.5 = -7.5.
    values = per_instance[0].values
    assert values["logprob"] == -24.5 - 3 * 22.5 - 7.5 == -99.5
    assert values["num_perplexity_tokens"] == len(tokens) == 40
    assert values["num_bytes"] == 2 + 39 * 3
    by_name = {stat.name: stat for stat in stats}
    assert by_name["logprob_per_token"].mean == -99.5 / 40
    assert by_name["perplexity"].mean == pytest.approx(math.exp(99.5 / 40), rel=1e-12)
    assert by_name["bits_per_byte"].mean == pytest.approx(99.5 / 119 / math.log(2), rel=1e-12)


def test_joint_metrics_read_the_letter(service):
    _, per_instance, stats = run(
        service,
        "multiple_choice_joint",
        [EfficiencyMetric(), MatchingMetric(), JointChoiceMetric(), CalibrationMetric()],
        max_tokens=1,
        top_k_per_token=5,
    )
    # The simple model copies the example's answer: "C" (blue); the right answer is B (green).
    values = per_instance[0].values
    assert values["exact_match"] == 0.0 and values["max_prob"] == 1.0
    assert stats["ece_10_bin"].mean == 1.0 and stats["selective_acc@10"].mean == 0.0


def test_unknown_method_and_unsupported_model_fail_in_one_sentence(service):
    with pytest.raises(UserError) as unknown:
        adapt(service, "multiple_choice")
    assert str(unknown.value) == (
        "adaptation.method='multiple_choice' is not a known method; use one of: "
        + ", ".join(ADAPTERS)
        + " (or the class path of an Adapter)."
    )
    chat = ModelSpec(
        name="openai/gpt-4o-mini",
        client="crfm_eval.models.clients.openai_client.OpenAIClient",
        args={"model": "gpt-4o-mini", "api": "chat"},
    )
    ai21 = ModelSpec(name="ai21/jamba-mini", client="crfm_eval.models.clients.ai21_client.AI21Client")
    for model in (chat, ai21):
        for method in ("multiple_choice_separate_original", "multiple_choice_separate_calibrated", "language_modeling"):
            with pytest.raises(UserError, match="it supports: generation, multiple_choice_joint.$"):
                create_adapter(AdaptationSpec(name="x", method=method), model, service, 0)


def test_chosen_option_reads_every_multiple_choice_method(service):
    from crfm_eval.metrics.multiple_choice import chosen_option

    for method in ("multiple_choice_joint", "multiple_choice_separate_original", "multiple_choice_separate_calibrated"):
        state, _, _ = run(service, method, [], max_tokens=1)
        assert chosen_option(state.request_states) == 2, method  # "blue", as the scores above show
