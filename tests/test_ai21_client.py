"""The AI21 client through the official SDK against a local server speaking AI21's chat API."""

import dataclasses

import pytest
from scripted_server import Script, scripted_server

from crfm_eval.errors import UserError
from crfm_eval.models.clients.ai21_client import AI21Client
from crfm_eval.models.clients.client import ClientError
from crfm_eval.models.credentials import Credentials
from crfm_eval.states import Request

REQUEST = Request(
    model="ai21/jamba-mini", prompt="Is the sky blue?\nAnswer:", temperature=0.0, max_tokens=5, stop_sequences=["\n"]
)
KEY = "ai21-test-key-93b1"


def chat_body(recorded, _):
    """AI21's documented chat completion response, one choice per requested completion."""
    n = recorded.body.get("n") or 1
    return {
        "id": "chat-1",
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": f" Yes {i}"}, "finish_reason": "stop"}
            for i in range(n)
        ],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
    }


def client_for(url: str, **args) -> AI21Client:
    return AI21Client(
        model="jamba-mini", api_host=url + "/studio/v1", credentials=Credentials({"ai21_api_key": KEY}), **args
    )


def test_chat_request_and_response_follow_ai21s_api():
    script = Script([(200, {}, None)])
    with scripted_server(script, chat_body) as url:
        result = client_for(url).make_request(dataclasses.replace(REQUEST, num_completions=2))
    assert [c.text for c in result.completions] == [" Yes 0", " Yes 1"]
    assert result.completions[0].finish_reason == "stop"
    (seen,) = script.seen
    assert seen.path == "/studio/v1/chat/completions"
    assert seen.headers["Authorization"] == f"Bearer {KEY}"
    assert seen.body["model"] == "jamba-mini" and seen.body["messages"] == [{"role": "user", "content": REQUEST.prompt}]
    assert (seen.body["max_tokens"], seen.body["temperature"], seen.body["stop"], seen.body["n"]) == (5, 0.0, ["\n"], 2)


def test_429_waits_for_retry_after_then_succeeds():
    script = Script([(429, {"Retry-After": "1"}, {"detail": "Too many requests"}), (200, {}, None)])
    with scripted_server(script, chat_body) as url:
        result = client_for(url, max_retries=2).make_request(REQUEST)
    assert result.completions[0].text == " Yes 0"
    assert len(script.seen) == 2 and script.seen[1].time - script.seen[0].time >= 1.0


def test_502_is_retried_a_bounded_number_of_times_then_fails():
    script = Script([(502, {}, {"detail": "bad gateway"})])
    with scripted_server(script, chat_body) as url:
        with pytest.raises(ClientError, match="502 from"):
            client_for(url, max_retries=2).make_request(REQUEST)
    assert len(script.seen) == 3


@pytest.mark.parametrize("garbage", [b"<html>502 Bad Gateway</html>", b"", {"choices": "none"}, {"id": "x"}])
def test_a_200_with_a_body_that_is_not_an_answer_is_retried(garbage):
    script = Script([(200, {}, garbage), (200, {}, None)])
    with scripted_server(script, chat_body) as url:
        result = client_for(url, max_retries=2).make_request(REQUEST)
    assert result.completions[0].text == " Yes 0" and len(script.seen) == 2


def test_401_is_not_retried():
    script = Script([(401, {}, {"detail": "bad key"})])
    with scripted_server(script, chat_body) as url:
        with pytest.raises(ClientError, match="401 from"):
            client_for(url, max_retries=3).make_request(REQUEST)
    assert len(script.seen) == 1


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("AI21_API_KEY", raising=False)
    with pytest.raises(UserError, match="set AI21_API_KEY or ai21_api_key in credentials.yaml"):
        AI21Client(model="jamba-mini")
