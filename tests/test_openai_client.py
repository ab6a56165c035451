"""The OpenAI client against a real OpenAI-compatible server: llama.cpp's, serving SmolLM2 on 127.0.0.1.
Retries are checked against a scripted server speaking the same wire format."""

import dataclasses
import subprocess
import sys

import pytest
from proxy_helpers import free_port, wait_until_up
from scripted_server import Script, scripted_server

from crfm_eval.errors import UserError
from crfm_eval.models.clients.client import ClientError
from crfm_eval.models.clients.gguf_models import packaged_model_file
from crfm_eval.models.clients.openai_client import OpenAIClient
from crfm_eval.models.service import LocalService
from crfm_eval.specs import ModelSpec
from crfm_eval.states import Request

PROMPT = "Counting in words: one, two, three, four,"
REQUEST = Request(model="m", prompt=PROMPT, temperature=0.0, max_tokens=6, stop_sequences=[], top_k_per_token=3)


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    port = free_port()
    log = (tmp_path_factory.mktemp("llama_server") / "server.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(packaged_model_file("smollm2-135m")),
            "--model_alias",
            "smollm2",
            "--chat_format",
            "chatml",
            "--n_ctx",
            "1024",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/v1/models", seconds=120)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_completions_with_logprobs(llama_server):
    client = OpenAIClient(model="smollm2", base_url=llama_server)
    completion = client.make_request(REQUEST).completions[0]
    assert completion.text.startswith(" five")
    assert "".join(token.text for token in completion.tokens) == completion.text
    assert all(token.logprob <= 0 and len(token.top_logprobs) == 3 for token in completion.tokens)
    assert all(
        max(token.top_logprobs.values()) == pytest.approx(token.logprob, abs=1e-3) for token in completion.tokens
    )
    assert completion.logprob == pytest.approx(sum(token.logprob for token in completion.tokens))
    stopped = client.make_request(dataclasses.replace(REQUEST, stop_sequences=[" six"])).completions[0]
    assert " six" not in stopped.text and stopped.finish_reason == "stop"


def test_echo_returns_the_prompt_with_logprobs(llama_server):
    client = OpenAIClient(model="smollm2", base_url=llama_server)
    completion = client.make_request(dataclasses.replace(REQUEST, echo_prompt=True, max_tokens=1)).completions[0]
    assert completion.text.startswith(PROMPT)
    assert "".join(token.text for token in completion.tokens).startswith(PROMPT)
    assert len(completion.tokens) > 5


def test_chat(llama_server):
    client = OpenAIClient(model="smollm2", base_url=llama_server, api="chat")
    completion = client.make_request(dataclasses.replace(REQUEST, prompt="Say hello.", max_tokens=8)).completions[0]
    assert completion.text.strip() and completion.finish_reason in ("stop", "length")
    assert completion.tokens and all(token.logprob <= 0 for token in completion.tokens)
    with pytest.raises(ClientError, match="echo_prompt needs"):
        client.make_request(dataclasses.replace(REQUEST, echo_prompt=True))


def test_through_the_service_and_its_cache(llama_server, tmp_path):
    spec = ModelSpec(
        name="llama-server/smollm2",
        client="crfm_eval.models.clients.openai_client.OpenAIClient",
        args={"model": "smollm2", "base_url": llama_server},
    )
    service = LocalService([spec], tmp_path)
    request = dataclasses.replace(REQUEST, model=spec.name)
    first, second = service.make_request(request), service.make_request(request)
    service.close()
    assert first.success and not first.cached and second.cached
    assert second.completions == first.completions


COMPLETION_BODY = {
    "id": "cmpl-1",
    "object": "text_completion",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "text": " five", "finish_reason": "length", "logprobs": None}],
}


def test_429_is_retried_after_retry_after():
    script = Script([(429, {"Retry-After": "1"}, {"error": {"message": "slow down"}}), (200, {}, COMPLETION_BODY)])
    with scripted_server(script) as url:
        result = OpenAIClient(model="m", base_url=url + "/v1", max_retries=2).make_request(REQUEST)
    assert result.completions[0].text == " five"
    assert len(script.seen) == 2 and script.seen[1].time - script.seen[0].time >= 1.0
    assert script.seen[0].path == "/v1/completions" and script.seen[0].body["prompt"] == PROMPT


def test_persistent_5xx_fails_after_bounded_retries_and_is_not_cached(tmp_path):
    script = Script([(500, {"Retry-After": "0"}, {"error": {"message": "boom"}})])
    with scripted_server(script) as url:
        spec = ModelSpec(
            name="flaky",
            client="crfm_eval.models.clients.openai_client.OpenAIClient",
            args={"model": "m", "base_url": url + "/v1", "max_retries": 2},
        )
        service = LocalService([spec], tmp_path)
        failed = service.make_request(dataclasses.replace(REQUEST, model="flaky"))
        again = service.make_request(dataclasses.replace(REQUEST, model="flaky"))
        service.close()
    assert not failed.success and "500" in failed.error and not again.cached
    assert len(script.seen) == 2 * 3  # each request: one try and two retries, no cache hit


GARBAGE = [
    b"<html>502 Bad Gateway</html>",
    b"",
    b'{"choices": [{"text": ',
    {"choices": "none"},
    {"id": "x"},
    {"choices": [{"text": 5, "index": 0, "finish_reason": "stop"}]},
    {"choices": [{"index": 0}]},
]


@pytest.mark.parametrize("garbage", GARBAGE)
def test_a_200_with_a_body_that_is_not_an_answer_is_retried(garbage):
    """Before, these failed unretried, or (a number or no text) became a 'successful' completion."""
    script = Script([(200, {}, garbage), (200, {}, COMPLETION_BODY)])
    with scripted_server(script) as url:
        result = OpenAIClient(model="m", base_url=url + "/v1", max_retries=2).make_request(REQUEST)
    assert result.completions[0].text == " five" and len(script.seen) == 2


def test_garbage_that_persists_fails_the_request_and_is_not_cached(tmp_path):
    script = Script([(200, {}, {"choices": [{"text": None, "index": 0}]})])
    with scripted_server(script) as url:
        spec = ModelSpec(
            name="garbage",
            client="crfm_eval.models.clients.openai_client.OpenAIClient",
            args={"model": "m", "base_url": url + "/v1", "max_retries": 1},
        )
        service = LocalService([spec], tmp_path)
        failed = service.make_request(dataclasses.replace(REQUEST, model="garbage"))
        service.close()
    assert not failed.success and "MalformedResponse" in failed.error and len(script.seen) == 2


def test_missing_key_names_the_variable(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="set OPENAI_API_KEY or openai_api_key in credentials.yaml"):
        OpenAIClient(model="gpt-4o-mini")
