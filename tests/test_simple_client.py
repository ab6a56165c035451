"""The deterministic test model: copies the most similar example's answer, honours decoding limits."""

import dataclasses

from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.states import Request

PROMPT = (
    "Passage: cats purr softly\nAnswer: Yes\n\n"
    "Passage: dogs bark loudly at night\nAnswer: No\n\n"
    "Passage: the dogs bark\nAnswer:"
)
REQUEST = Request(model="m", prompt=PROMPT, temperature=0.0, max_tokens=5, stop_sequences=["\n"])


def test_answers_like_the_most_similar_example():
    completion = SimpleClient().make_request(REQUEST).completions[0]
    assert (completion.text, completion.finish_reason) == (" No", "stop")
    cats = dataclasses.replace(REQUEST, prompt=PROMPT.replace("the dogs bark", "cats purr"))
    assert SimpleClient().make_request(cats).completions[0].text == " Yes"


def test_max_tokens_and_stop_sequences():
    client = SimpleClient()
    long_answer = "Q: x\nA: one two three four\n\nQ: x\nA:"
    no_stop = dataclasses.replace(REQUEST, prompt=long_answer, stop_sequences=[], max_tokens=2)
    completion = client.make_request(no_stop).completions[0]
    assert (completion.text, completion.finish_reason, len(completion.tokens)) == (" one two", "length", 2)
    stopped = dataclasses.replace(REQUEST, prompt=long_answer, stop_sequences=[" three"], max_tokens=10)
    assert client.make_request(stopped).completions[0].text == " one two"


def test_zero_shot_repeats_the_first_word_of_the_query():
    assert (
        SimpleClient().make_request(dataclasses.replace(REQUEST, prompt="Passage: sky\nAnswer:")).completions[0].text
        == " Passage:"
    )


def test_sampling_is_reproducible_and_tag_dependent():
    prompt = "".join(f"Q: x\nA: answer{i}\n\n" for i in range(20)) + "Q: x\nA:"
    sampled = dataclasses.replace(REQUEST, prompt=prompt, temperature=1.0, num_completions=4)
    client = SimpleClient()
    texts = [c.text for c in client.make_request(sampled).completions]
    assert texts == [c.text for c in client.make_request(sampled).completions]
    assert len(set(texts)) > 1
    tagged = [c.text for c in client.make_request(dataclasses.replace(sampled, random="other")).completions]
    assert tagged != texts


def test_tokens_concatenate_to_the_text():
    text = "  Passage: two  spaces\n\nand a tab\t end  "
    assert "".join(SimpleClient().tokenize(text)) == text


def test_echo_prompt_returns_prompt_and_completion():
    completion = SimpleClient().make_request(dataclasses.replace(REQUEST, echo_prompt=True)).completions[0]
    assert completion.text == PROMPT + " No"
    assert "".join(token.text for token in completion.tokens) == PROMPT + " No"
