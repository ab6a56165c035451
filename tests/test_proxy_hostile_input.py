"""Issue 15's reproductions, as a hostile or careless client sends them, against the real server
(2 worker processes): each is refused with a 4xx and one sentence, and none can hurt another request."""

import json
import socket
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
import requests
from proxy_helpers import simple_proxy

from crfm_eval.proxy.limits import LIMITS

ADMIN_KEY = "admin-key-hostile-9d2e"
MODEL = "simple/deterministic"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    with simple_proxy(tmp_path_factory.mktemp("proxy"), ADMIN_KEY, workers=2) as url:
        yield url


def post(url, path, body=None, raw=None, key=ADMIN_KEY, method="POST"):
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    return requests.request(method, url + path, json=body, data=raw, headers=headers, timeout=60)


def assert_refused(response, status=400, naming=""):
    """A status, JSON, and one sentence (no traceback, no line break) that names what is wrong."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error and "\n" not in error and "Traceback" not in error
    assert naming in error, error


def new_account(url, username, is_admin=False):
    response = post(url, "/api/account", {"username": username, "is_admin": is_admin})
    assert response.status_code == 201, response.text
    return response.json()["api_key"]


def test_lone_surrogates_are_refused_and_fail_no_other_request(proxy):
    """Reproduction 1: 1 in 5 requests with "x\\ud800 N", 8 threads; before, 80 of 240 normal ones got 500."""

    def send(index: int) -> tuple[bool, requests.Response]:
        bad = index % 5 == 0
        prompt = f"x\ud800 N {index}" if bad else f"Q: {index}\nA: yes\n\nQ: {index}\nA:"
        return bad, post(proxy, "/api/request", {"request": {"model": MODEL, "prompt": prompt, "max_tokens": 2}})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(send, range(300)))
    for bad, response in answers:
        if bad:
            assert_refused(response, 400, "request.prompt")
        else:
            assert response.status_code == 200 and response.json()["completions"][0]["text"] == " yes\n"
    assert sum(not bad for bad, _ in answers) == 240


DEEP = 100_000
MALFORMED = {
    "deeply nested arrays": b'{"request": ' + b"[" * DEEP + b"]" * DEEP + b"}",
    "nesting past the depth limit": b'{"request": ' + b"[" * 500 + b"]" * 500 + b"}",
    "an integer of 5,000 digits": b'{"request": {"model": "simple/deterministic", "prompt": "x", "seed": '
    + b"9" * 5000
    + b"}}",
    "request null": b'{"request": null}',
    "request missing": b"{}",
    "request a string": b'{"request": "complete this"}',
    "request an array": b'{"request": []}',
    "empty body": b"",
    "blank body": b"  \n ",
    "NaN": b'{"request": {"model": "simple/deterministic", "prompt": "x", "temperature": NaN}}',
    "not UTF-8": b'{"request": "\xff\xfe"}',
    "a JSON array": b"[1, 2]",
    "truncated JSON": b'{"request": {"model": ',
    "an unknown field": b'{"request": {"model": "simple/deterministic", "prompt": "x"}, "extra": 1}',
    "a surrogate in a key": b'{"request": {"model": "simple/deterministic", "prompt": "x", "\\udfff": 1}}',
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bodies_are_400(proxy, raw):
    """Reproduction 2: these were 500s."""
    assert_refused(post(proxy, "/api/request", raw=raw), 400)


def raw_exchange(url: str, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send bytes as they are (no client library would send a negative Content-Length)."""
    address = urlparse(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1]), answer


@pytest.mark.parametrize(
    "length, status, naming",
    [
        ("-5", 400, b"CONTENT-LENGTH"),
        ("abc", 400, b"CONTENT-LENGTH"),
        ("1e3", 400, b"CONTENT-LENGTH"),
        ("99999999999999999999999", 413, b"LARGER THAN"),
    ],
)
def test_a_bad_content_length_is_refused(proxy, length, status, naming):
    """Reproduction 3: `Content-Length: -5` was a 500. gunicorn refuses malformed lengths before the
    app, with its own one-line page naming the header; the app refuses a length over the limit."""
    head = f"POST /api/request HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\nContent-Length: {length}\r\nConnection: close"
    answered, answer = raw_exchange(proxy, head, b'{"request": null}')
    assert answered == status and naming in answer.upper()
    assert post(proxy, "/api/request", {"request": {"model": MODEL, "prompt": "still fine"}}).status_code == 200


def test_surrogates_in_usernames_are_400(proxy):
    """Reproduction 4."""
    assert_refused(post(proxy, "/api/account", {"username": "eve\ud800"}), 400, "username")
    assert_refused(post(proxy, "/api/account", raw=b'{"username": "\\udc80x"}'), 400, "username")
    lookup = requests.get(proxy + "/api/account?username=%ED%A0%80", headers=AUTH, timeout=30)
    assert_refused(lookup, 400, "username")
    assert_refused(post(proxy, "/api/account", {"username": "has space"}), 400, "username")


@pytest.mark.parametrize("value", ["false", "1", "yes", [], 1, None, {"x": 1}])
def test_is_admin_must_be_a_boolean(proxy, value):
    """Reproduction 5: "false" created an admin, "1" granted admin, "yes" and [] gave 500."""
    username = f"maybe-admin-{abs(hash(json.dumps(value))) % 10_000}"
    assert_refused(post(proxy, "/api/account", {"username": username, "is_admin": value}), 400, "is_admin")
    assert requests.get(f"{proxy}/api/account?username={username}", headers=AUTH, timeout=30).status_code == 404
    new_account(proxy, username)
    assert_refused(post(proxy, "/api/account", {"username": username, "is_admin": value}, method="PUT"), 400)
    account = requests.get(f"{proxy}/api/account?username={username}", headers=AUTH, timeout=30).json()
    assert account["is_admin"] is False


@pytest.mark.parametrize("body", [{}, {"username": None}, {"username": ""}, None])
def test_key_rotation_must_name_the_account(proxy, body):
    """Reproduction 6: `{}` or a null or empty username rotated the caller's own key."""
    username = f"rotator-{len(json.dumps(body))}"
    key = new_account(proxy, username)
    answer = post(proxy, "/api/account/api_key", body, key=key, method="PUT")
    assert_refused(answer, 400)
    assert requests.get(proxy + "/api/account", headers={"Authorization": f"Bearer {key}"}, timeout=30).ok


def test_the_last_admin_keeps_its_right(proxy, tmp_path):
    """Reproduction 7: the last admin could demote itself (leaving nobody to manage accounts)."""
    demote = post(proxy, "/api/account", {"username": "admin", "is_admin": False}, method="PUT")
    assert_refused(demote, 409, "last admin")
    assert_refused(post(proxy, "/api/account", {"username": "admin"}, method="DELETE"), 400, "own account")
    deputy_key = new_account(proxy, "deputy", is_admin=True)
    # With two admins, one may step down, and the other then is the last.
    assert post(proxy, "/api/account", {"username": "deputy", "is_admin": False}, key=deputy_key, method="PUT").ok
    assert_refused(post(proxy, "/api/account", {"username": "admin", "is_admin": False}, method="PUT"), 409)
    assert requests.get(proxy + "/api/account", headers=AUTH, timeout=30).json()["is_admin"] is True


@pytest.mark.parametrize(
    "fields, status, naming",
    [
        ({"num_completions": LIMITS.max_num_completions + 1}, 400, "request.num_completions"),
        ({"num_completions": 0}, 400, "request.num_completions"),
        ({"max_tokens": 2049}, 400, "request.max_tokens"),
        ({"max_tokens": -1}, 400, "request.max_tokens"),
        ({"max_tokens": True}, 400, "request.max_tokens"),
        ({"max_tokens": 2.5}, 400, "request.max_tokens"),
        ({"temperature": 101}, 400, "request.temperature"),
        ({"temperature": "0.5"}, 400, "request.temperature"),
        ({"top_p": 1.5}, 400, "request.top_p"),
        ({"top_k_per_token": 1000}, 400, "request.top_k_per_token"),
        ({"echo_prompt": "false"}, 400, "request.echo_prompt"),
        ({"seed": 2**64}, 400, "request.seed"),
        ({"stop_sequences": ["\n"] * 17}, 400, "request.stop_sequences"),
        ({"stop_sequences": "\n"}, 400, "request.stop_sequences"),
        ({"random": "r" * 1001}, 400, "request.random"),
        ({"prompt": "word " * 2000, "max_tokens": 100}, 413, "window of 2048 tokens"),
        ({"prompt": "x" * (2048 * LIMITS.max_prompt_chars_per_token + 1)}, 413, "request.prompt"),
        ({"prompt": "x" * 7_000_000}, 413, "request.prompt"),
    ],
)
def test_limits(proxy, fields, status, naming):
    """Reproduction 8: a 7 MB prompt cost 14 s of server CPU; now it, and every unbounded field, is refused."""
    body = {"request": {"model": MODEL, "prompt": "Q: x\nA:", **fields}}
    assert_refused(post(proxy, "/api/request", raw=json.dumps(body).encode()), status, naming)


def test_a_number_too_large_for_a_float_is_400(proxy):
    raw = b'{"request": {"model": "simple/deterministic", "prompt": "x", "temperature": 1e999}}'
    assert_refused(post(proxy, "/api/request", raw=raw), 400, "request.temperature")


def test_a_whole_number_where_a_number_is_asked_is_the_same_request(proxy):
    """`"temperature": 0` (as JavaScript writes 0.0) is the request `0.0` is: same cache entry."""
    prompt = "Q: int or float\nA: same\n\nQ: int or float\nA:"
    first = post(proxy, "/api/request", {"request": {"model": MODEL, "prompt": prompt, "temperature": 0.0}})
    second = post(
        proxy,
        "/api/request",
        raw=f'{{"request": {{"model": "{MODEL}", "prompt": {json.dumps(prompt)}, "temperature": 0}}}}'.encode(),
    )
    assert first.status_code == second.status_code == 200 and second.json()["cached"] is True


def test_an_oversized_body_is_413_before_it_is_read(proxy):
    head = (
        f"POST /api/request HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\n"
        f"Content-Length: {LIMITS.max_body_bytes + 1}\r\nConnection: close"
    )
    status, answer = raw_exchange(proxy, head)  # no body sent at all: the answer does not wait for it
    assert status == 413 and b"larger than" in answer
