"""The in-process Service and its persistent cache: what is in the key, what is stored, what is not."""

import dataclasses
import json
import sqlite3

import pytest

from crfm_eval.errors import UserError
from crfm_eval.models.cache import cache_key
from crfm_eval.models.service import LocalService
from crfm_eval.specs import ModelSpec
from crfm_eval.states import Request

SIMPLE = ModelSpec(name="simple/deterministic", client="crfm_eval.models.clients.simple.SimpleClient")
OTHER = ModelSpec(name="simple/other", client="crfm_eval.models.clients.simple.SimpleClient")
PROMPT = "Passage: a b c\nAnswer: Yes\n\nPassage: a b\nAnswer:"
REQUEST = Request(model=SIMPLE.name, prompt=PROMPT, temperature=0.0, max_tokens=5, stop_sequences=["\n"])


@pytest.fixture()
def service_factory(tmp_path):
    services = []

    def make(*specs: ModelSpec) -> LocalService:
        services.append(LocalService(list(specs or [SIMPLE]), tmp_path / "cache"))
        return services[-1]

    yield make
    for service in services:
        service.close()


def test_second_service_on_the_same_files_makes_no_model_call(service_factory):
    first = service_factory().make_request(REQUEST)
    assert first.success and not first.cached and first.completions[0].text == " Yes"
    second_service = service_factory()
    second = second_service.make_request(REQUEST)
    assert second.cached and second_service.num_model_calls == 0 and second_service.num_cache_hits == 1
    assert dataclasses.replace(second, cached=False) == first  # same text, logprobs and original request time


@pytest.mark.parametrize(
    "change",
    [
        {"prompt": PROMPT + " "},
        {"temperature": 0.5},
        {"max_tokens": 6},
        {"stop_sequences": ["\n", "."]},
        {"num_completions": 2},
        {"top_k_per_token": 5},
        {"top_p": 0.9},
        {"seed": 1},
        {"random": "sample-1"},
        {"echo_prompt": True},
    ],
)
def test_every_request_field_is_in_the_cache_key(service_factory, change):
    service = service_factory()
    service.make_request(REQUEST)
    result = service.make_request(dataclasses.replace(REQUEST, **change))
    assert not result.cached and service.num_model_calls == 2


def test_model_is_in_the_cache_key(service_factory):
    service = service_factory(SIMPLE, OTHER)
    service.make_request(REQUEST)
    assert not service.make_request(dataclasses.replace(REQUEST, model=OTHER.name)).cached
    key = json.loads(cache_key(SIMPLE.name, {"class": "x"}, REQUEST))
    assert key["model"] == SIMPLE.name and key["request"]["model"] == SIMPLE.name and key["client"] == {"class": "x"}


def test_errors_are_reported_and_never_cached(service_factory, tmp_path):
    outage = tmp_path / "outage"
    outage.touch()
    flaky = ModelSpec(
        name="flaky", client="failing_client.OutageClient", args={"outage_file": str(outage), "fail_every": 1}
    )
    service = service_factory(flaky)
    request = dataclasses.replace(REQUEST, model="flaky")
    failed = service.make_request(request)
    assert not failed.success and failed.error == "ClientError: upstream unavailable" and not failed.completions
    with sqlite3.connect(tmp_path / "cache" / "flaky.sqlite") as db:
        assert db.execute("select count(*) from requests").fetchone()[0] == 0
    outage.unlink()
    recovered = service.make_request(request)
    assert recovered.success and not recovered.cached
    assert service.make_request(request).cached


def test_unknown_model_and_bad_client_are_user_errors(service_factory):
    with pytest.raises(UserError, match="Unknown model 'nope'; known models: simple/deterministic"):
        service_factory().make_request(dataclasses.replace(REQUEST, model="nope"))
    bad = ModelSpec(name="bad", client="crfm_eval.models.clients.simple.NoSuchClient")
    with pytest.raises(UserError, match="cannot be imported"):
        service_factory(bad).make_request(dataclasses.replace(REQUEST, model="bad"))
    wrong_args = ModelSpec(name="args", client="crfm_eval.models.clients.simple.SimpleClient", args={"latncy": 1})
    with pytest.raises(UserError, match="does not take the argument.s. latncy; it takes: latency"):
        service_factory(wrong_args).make_request(dataclasses.replace(REQUEST, model="args"))
