"""The proxy's HTTP API against the real server (`python -m crfm_eval.proxy`, 2 worker processes) on
127.0.0.1: status codes, accounts, quotas."""

import json
from concurrent.futures import ThreadPoolExecutor

import bottle
import pytest
import requests
from proxy_helpers import proxy_process, simple_proxy, write_models

from crfm_eval.proxy.limits import LIMITS
from crfm_eval.proxy.server import OPENAPI_FILE, create_app

ADMIN_KEY = "admin-key-for-tests-7f3a"


@pytest.fixture(scope="module")
def proxy_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("proxy")


@pytest.fixture(scope="module")
def proxy(proxy_folder):
    """One server for the module (each test uses its own accounts and prompts)."""
    with simple_proxy(proxy_folder, ADMIN_KEY, workers=2) as url:
        yield url


def call(url, method, path, key=None, body=None, raw=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return requests.request(method, url + path, json=body, data=raw, headers=headers, timeout=60)


def request_body(prompt="Q: a\nA: yes\n\nQ: a\nA:", model="simple/deterministic", **fields):
    return {"request": {"model": model, "prompt": prompt, "temperature": 0.0, "max_tokens": 3, **fields}}


def new_account(url, username, quotas=None):
    response = call(url, "POST", "/api/account", ADMIN_KEY, {"username": username, "quotas": quotas or {}})
    assert response.status_code == 201, response.text
    return response.json()["api_key"]


def test_general_info_lists_models_with_groups(proxy):
    info = call(proxy, "GET", "/api/general_info").json()
    assert {(m["name"], m["group"]) for m in info["models"]} == {
        ("simple/deterministic", "test"),
        ("simple/slow", "slow"),
    }
    assert info["version"]


def test_request_then_cached(proxy):
    first = call(proxy, "POST", "/api/request", ADMIN_KEY, request_body(prompt="Q: b\nA: yes\n\nQ: b\nA:"))
    assert first.status_code == 200 and first.json()["completions"][0]["text"] == " yes\n"
    second = call(proxy, "POST", "/api/request", ADMIN_KEY, request_body(prompt="Q: b\nA: yes\n\nQ: b\nA:"))
    assert second.json()["cached"] is True and first.json()["cached"] is False


@pytest.mark.parametrize(
    "key, body, raw, status",
    [
        (None, request_body(), None, 401),
        ("not-a-key", request_body(), None, 401),
        (ADMIN_KEY, None, b"{not json", 400),
        (ADMIN_KEY, {"request": {"prompt": "no model"}}, None, 400),
        (ADMIN_KEY, {"request": {"model": "simple/deterministic", "prompt": "x", "temperature": "hot"}}, None, 400),
        (ADMIN_KEY, {"request": {"model": "simple/deterministic", "prompt": "x", "surprise": 1}}, None, 400),
        (ADMIN_KEY, request_body(model="gpt-9"), None, 404),
        (ADMIN_KEY, request_body(prompt="x" * (LIMITS.max_body_bytes + 10)), None, 413),
    ],
)
def test_status_codes(proxy, key, body, raw, status):
    response = call(proxy, "POST", "/api/request", key, body, raw)
    assert response.status_code == status
    assert response.headers["Content-Type"].startswith("application/json") and response.json()["error"]


def test_unknown_route_is_json_404(proxy):
    response = call(proxy, "GET", "/api/nothing")
    assert response.status_code == 404 and "error" in response.json()


def test_tokenize(proxy):
    response = call(proxy, "POST", "/api/tokenize", ADMIN_KEY, {"model": "simple/deterministic", "text": "a b  c"})
    assert response.json() == {"model": "simple/deterministic", "tokens": ["a", " b", "  c"], "num_tokens": 3}
    assert call(proxy, "POST", "/api/tokenize", ADMIN_KEY, {"model": "x", "text": "a"}).status_code == 404
    assert call(proxy, "POST", "/api/tokenize", None, {"model": "simple/deterministic", "text": "a"}).status_code == 401


def test_quota_counts_only_model_calls(proxy):
    key = new_account(proxy, "alice", {"test": {"total": 2}})
    assert call(proxy, "POST", "/api/request", key, request_body(prompt="one")).status_code == 200
    assert call(proxy, "POST", "/api/request", key, request_body(prompt="one")).json()["cached"]  # free
    assert call(proxy, "POST", "/api/request", key, request_body(prompt="two")).status_code == 200
    refused = call(proxy, "POST", "/api/request", key, request_body(prompt="three"))
    assert refused.status_code == 403 and "total quota of 2 requests for model group 'test'" in refused.json()["error"]
    assert call(proxy, "POST", "/api/request", key, request_body(prompt="two")).status_code == 200  # cached: allowed
    account = call(proxy, "GET", "/api/account", key).json()
    # Each call: a one-word prompt and a one-word answer of the simple model (whitespace-delimited tokens).
    assert account["usage"] == {
        "test": {"requests": {"daily": 2, "monthly": 2, "total": 2}, "tokens": {"daily": 4, "monthly": 4, "total": 4}}
    }
    assert account["quotas"] == {"test": {"requests": {"total": 2}}}  # given in the earlier form


def test_quota_holds_under_concurrent_clients(proxy):
    key = new_account(proxy, "bob", {"slow": {"daily": 10}})
    bodies = [request_body(model="simple/slow", prompt=f"prompt {i}") for i in range(32)]
    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(lambda body: call(proxy, "POST", "/api/request", key, body).status_code, bodies))
    assert statuses.count(200) == 10 and statuses.count(403) == 22
    assert call(proxy, "GET", "/api/account", key).json()["usage"]["slow"]["requests"]["daily"] == 10


def test_admin_manages_accounts_and_others_cannot(proxy):
    key = new_account(proxy, "carol")
    assert call(proxy, "POST", "/api/account", key, {"username": "eve"}).status_code == 403
    assert call(proxy, "GET", "/api/account?username=admin", key).status_code == 403
    assert call(proxy, "POST", "/api/account", ADMIN_KEY, {"username": "carol"}).status_code == 409  # exists
    bad = call(proxy, "PUT", "/api/account", ADMIN_KEY, {"username": "carol", "quotas": {"test": {"weekly": 3}}})
    assert bad.status_code == 400
    updated = call(proxy, "PUT", "/api/account", ADMIN_KEY, {"username": "carol", "quotas": {"*": {"daily": 5}}})
    assert updated.status_code == 200 and updated.json()["quotas"] == {"*": {"requests": {"daily": 5}}}
    assert call(proxy, "GET", "/api/account?username=carol", ADMIN_KEY).json()["username"] == "carol"
    assert call(proxy, "PUT", "/api/account", ADMIN_KEY, {"username": "nobody"}).status_code == 404
    assert call(proxy, "DELETE", "/api/account", ADMIN_KEY, {"username": "admin"}).status_code == 400
    assert call(proxy, "DELETE", "/api/account", ADMIN_KEY, {"username": "carol"}).status_code == 200
    assert call(proxy, "GET", "/api/account", key).status_code == 401
    assert call(proxy, "DELETE", "/api/account", ADMIN_KEY, {"username": "carol"}).status_code == 404


def test_key_rotation(proxy):
    old = new_account(proxy, "dave")
    rotated = call(proxy, "PUT", "/api/account/api_key", old, {"username": "dave"})
    assert rotated.status_code == 200
    new = rotated.json()["api_key"]
    assert new != old
    assert call(proxy, "GET", "/api/account", old).status_code == 401
    assert call(proxy, "GET", "/api/account", new).json()["username"] == "dave"
    assert call(proxy, "PUT", "/api/account/api_key", new, {"username": "admin"}).status_code == 403
    by_admin = call(proxy, "PUT", "/api/account/api_key", ADMIN_KEY, {"username": "dave"}).json()["api_key"]
    assert call(proxy, "GET", "/api/account", by_admin).status_code == 200


def test_keys_appear_in_no_other_response_or_log(proxy, proxy_folder):
    key = new_account(proxy, "frank")
    texts = [
        call(proxy, "GET", "/api/account", key).text,
        call(proxy, "GET", "/api/account?username=frank", ADMIN_KEY).text,
        call(proxy, "POST", "/api/request", key, request_body()).text,
        call(proxy, "POST", "/api/request", "wrong-" + key, request_body()).text,
        call(proxy, "GET", "/api/general_info").text,
    ]
    server_log = (proxy_folder / "proxy.log").read_text()  # gunicorn's log and the access log
    assert '"GET /api/account HTTP/1.1" 200' in server_log and " - frank [" in server_log
    for secret in (key, ADMIN_KEY):
        assert all(secret not in text for text in texts)
        assert secret not in server_log
    stored = (proxy_folder / "base" / "accounts.sqlite").read_bytes()
    assert key.encode() not in stored and ADMIN_KEY.encode() not in stored


def test_openapi_is_served_and_documents_every_route(proxy):
    served = call(proxy, "GET", "/api/openapi.json").json()
    assert served == json.loads(OPENAPI_FILE.read_text())
    documented = {(path, method.upper()) for path, item in served["paths"].items() for method in item}

    class NoModels:
        model_specs: list = []

    app: bottle.Bottle = create_app(NoModels(), None)  # type: ignore[arg-type]
    api_routes = {(route.rule, route.method) for route in app.routes if route.rule.startswith("/api/")}
    assert api_routes == documented


def test_web_page_is_served_with_a_strict_content_security_policy(proxy):
    page = requests.get(proxy + "/", timeout=10)
    assert page.status_code == 200 and '<select id="model">' in page.text
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    script = requests.get(proxy + "/static/app.js", timeout=10).text
    assert "innerHTML" not in script and "/api/request" in script


def test_first_start_without_admin_key_prints_a_generated_key_once(tmp_path, monkeypatch, capsys):
    from crfm_eval.proxy.__main__ import ensure_admin
    from crfm_eval.proxy.accounts import Accounts

    monkeypatch.delenv("CRFM_EVAL_ADMIN_KEY", raising=False)
    accounts = Accounts(tmp_path / "accounts.sqlite")
    ensure_admin(accounts)
    printed = capsys.readouterr().err
    key = printed.strip().rsplit(" ", 1)[-1]
    assert "admin account" in printed and len(key) >= 40
    account = accounts.authenticate(key)
    assert account is not None and account.is_admin
    ensure_admin(accounts)  # second start: nothing new, nothing printed
    assert capsys.readouterr().err == ""
    accounts.close()


@pytest.fixture()
def proxy_with_broken_upstreams(tmp_path):
    """A model that always fails, and one whose server accepts connections but never answers."""
    import socket

    outage = tmp_path / "outage"
    outage.touch()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # the kernel completes connections; nobody ever reads or answers
    models = write_models(tmp_path / "models")
    (models / "failing.yaml").write_text(
        f"name: failing\nclient: failing_client.OutageClient\nargs:\n  outage_file: {outage}\n  fail_every: 1\ngroup: test\n"
    )
    (models / "silent.yaml").write_text(
        "name: silent\nclient: crfm_eval.models.clients.openai_client.OpenAIClient\n"
        f"args:\n  model: m\n  base_url: http://127.0.0.1:{silent.getsockname()[1]}/v1\n  timeout_seconds: 1\n"
        "  max_retries: 0\ngroup: test\n"
    )
    with proxy_process(tmp_path / "base", models, ADMIN_KEY, tmp_path / "proxy.log") as url:
        yield url
    silent.close()


def test_upstream_failure_is_502_and_timeout_504_and_neither_is_charged(proxy_with_broken_upstreams):
    url = proxy_with_broken_upstreams
    key = new_account(url, "grace", {"test": {"total": 5}})
    failed = call(url, "POST", "/api/request", key, request_body(model="failing"))
    assert failed.status_code == 502
    assert "upstream unavailable" in failed.json()["error"] and failed.json()["result"]["success"] is False
    timed_out = call(url, "POST", "/api/request", key, request_body(model="silent"))
    assert timed_out.status_code == 504 and "UpstreamTimeout" in timed_out.json()["error"]
    usage = call(url, "GET", "/api/account", key).json()["usage"]["test"]
    assert usage["requests"]["total"] == 0 and usage["tokens"]["total"] == 0
    again = call(url, "POST", "/api/request", key, request_body(model="failing"))
    assert again.status_code == 502  # not cached: asked again
