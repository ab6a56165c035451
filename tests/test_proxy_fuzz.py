"""Property-based fuzzing of every endpoint, driven by the proxy's own openapi.json (schemathesis).

For each operation, requests that follow the description (positive) and requests that break it
(negative: wrong types, values out of range, missing or unknown fields) go to the real server (2
worker processes). Every answer must be documented for that operation, be JSON where JSON is
described and match its schema; no answer may be a 5xx; anything that breaks the description must
be refused with a 4xx. Together over 1,000 requests (counted), derandomized, so CI runs the same
ones; afterwards the server still answers a normal request normally.
"""

import copy
import json
import re

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from proxy_helpers import simple_proxy
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from crfm_eval.proxy.server import OPENAPI_FILE

ROOT_KEY = "fuzz-root-key-0c6f1a9e77d2"
ROOT_USER = "fuzz-root-b81e4c"
"""The fuzzing admin: a name the generated usernames will not hit, so it keeps its rights and key."""
EXAMPLES_PER_OPERATION_AND_MODE = 80
MODELS = ["simple/deterministic"]
calls: list[int] = []


def fuzzing_schema() -> dict:
    """The served description, with the models this proxy serves named (so that valid requests reach a model)."""
    document = copy.deepcopy(json.loads(OPENAPI_FILE.read_text()))
    document["components"]["schemas"]["Request"]["properties"]["model"]["enum"] = MODELS
    tokenize = document["paths"]["/api/tokenize"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    tokenize["properties"]["model"]["enum"] = MODELS
    return document


SCHEMA = schemathesis.openapi.from_dict(fuzzing_schema())
OPERATIONS = [(result.ok().path, result.ok().method.upper()) for result in SCHEMA.get_all_operations()]
CASES = [
    (path, method, mode)
    for path, method in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    # An operation that takes no input has nothing to break.
    if mode is GenerationMode.POSITIVE or path not in ("/api/general_info", "/api/openapi.json")
]


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy")
    access_log = folder / "access.log"
    with simple_proxy(folder, "admin-key-fuzz-31a7", workers=2, extra_args=("--access-log", str(access_log))) as url:
        created = requests.post(
            url + "/api/account",
            json={"username": ROOT_USER, "is_admin": True},
            headers={"Authorization": "Bearer admin-key-fuzz-31a7"},
            timeout=30,
        )
        rotated = requests.put(
            url + "/api/account/api_key",
            json={"username": ROOT_USER},
            headers={"Authorization": f"Bearer {created.json()['api_key']}"},
            timeout=30,
        )
        yield url, rotated.json()["api_key"], access_log


@pytest.mark.parametrize("path, method, mode", CASES, ids=[f"{m} {p} {mode.value}" for p, m, mode in CASES])
def test_every_answer_is_documented_and_none_is_a_server_error(proxy, path, method, mode):
    url, key, _ = proxy
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
    if mode is GenerationMode.NEGATIVE:
        checks.append(negative_data_rejection)
    session = requests.Session()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=SCHEMA[path][method].as_strategy(generation_mode=mode))
    def one_request(case) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        response = case.call_and_validate(base_url=url, session=session, headers=headers, checks=checks)
        calls.append(response.status_code)

    one_request()


TEXT = st.text(
    st.characters(codec=None, categories=None), max_size=30
)  # lone surrogates and control characters included
LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | TEXT
VALUES = st.recursive(
    LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4), max_leaves=12
)
FIELDS = [
    "request",
    "model",
    "prompt",
    "text",
    "username",
    "is_admin",
    "quotas",
    "max_tokens",
    "temperature",
    "num_completions",
    "stop_sequences",
    "echo_prompt",
    "seed",
    "random",
    "top_p",
    "top_k_per_token",
]
WRITES = [(path, method) for path, method in OPERATIONS if method != "GET"]


@settings(max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(
    operation=st.sampled_from(WRITES),
    body=st.dictionaries(st.sampled_from(FIELDS) | TEXT, VALUES, max_size=4),
    request=st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=6),
)
def test_hostile_values_anywhere_are_refused_never_a_server_error(proxy, operation, body, request):
    """What a schema does not describe: any JSON value (lone surrogates, control characters, huge
    numbers, nesting) in any field, inside and outside `request`."""
    url, key, _ = proxy
    path, method = operation
    if path == "/api/request":
        body["request"] = {"model": "simple/deterministic", "prompt": "Q:", **request}
    if path == "/api/account/api_key" or (path == "/api/account" and body.get("username") == ROOT_USER):
        body["username"] = "nobody-here"  # keep the fuzzing admin's key and rights
    response = requests.request(
        method, url + path, data=json.dumps(body), headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    calls.append(response.status_code)
    assert response.status_code < 500 and "error" in response.json() or response.status_code < 300, response.text


def test_over_a_thousand_requests_and_the_server_still_answers(proxy):
    url, key, access_log = proxy
    print(f"{len(calls)} generated requests")
    assert len(calls) >= 1000 and max(calls) < 500
    statuses = [int(status) for status in re.findall(r'" (\d{3}) ', access_log.read_text())]
    assert len(statuses) >= len(calls) and max(statuses) < 500
    body = {
        "request": {"model": "simple/deterministic", "prompt": "Q: after\nA: fine\n\nQ: after\nA:", "max_tokens": 2}
    }
    answer = requests.post(url + "/api/request", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["completions"][0]["text"] == " fine\n"
