"""Quotas in requests and in tokens, exact when 32 clients hit 4 worker processes at once."""

import json
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from proxy_helpers import simple_proxy

from crfm_eval.proxy.accounts import Accounts

ADMIN_KEY = "admin-key-quotas-5be1"
WORKERS = 4
CLIENTS = 32


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy")
    with simple_proxy(folder, ADMIN_KEY, workers=WORKERS) as url:
        yield url, folder / "proxy.log"


def new_account(url: str, username: str, quotas: dict) -> str:
    response = requests.post(
        url + "/api/account",
        json={"username": username, "quotas": quotas},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert response.status_code == 201, response.text
    return response.json()["api_key"]


def five_token_request(index: int, model: str = "simple/deterministic") -> dict:
    """3 prompt tokens ("Q:", " w<i>", "\\nA:") and, with max_tokens 2, exactly 2 generated (" Q:", "\\n"):
    the worst case reserved equals what is used."""
    return {"request": {"model": model, "prompt": f"Q: w{index}\nA:", "temperature": 0.0, "max_tokens": 2}}


def send_all(url: str, key: str, bodies: list[dict]) -> list[int]:
    def send(body: dict) -> int:
        return requests.post(url + "/api/request", json=body, headers={"Authorization": f"Bearer {key}"}).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, bodies))


def usage(url: str, key: str) -> dict:
    return requests.get(url + "/api/account", headers={"Authorization": f"Bearer {key}"}).json()["usage"]


def test_the_server_runs_the_asked_number_of_workers(proxy):
    _, log = proxy
    assert len(set(re.findall(r"Booting worker with pid: (\d+)", log.read_text()))) == WORKERS


@pytest.mark.parametrize("model", ["simple/deterministic", "simple/slow"])
def test_a_request_quota_of_50_is_exact_across_workers(proxy, model):
    url, _ = proxy
    group = "test" if model == "simple/deterministic" else "slow"
    key = new_account(url, f"requests-{group}", {group: {"requests": {"total": 50}}})
    statuses = send_all(url, key, [five_token_request(i, model) for i in range(100)])
    assert statuses.count(200) == 50 and statuses.count(403) == 50
    assert usage(url, key)[group]["requests"] == {"daily": 50, "monthly": 50, "total": 50}


def test_a_token_quota_of_50_is_exact_across_workers(proxy):
    url, _ = proxy
    key = new_account(url, "tokens", {"*": {"tokens": {"daily": 50}}})
    bodies = [five_token_request(1000 + i) for i in range(64)]
    statuses = send_all(url, key, bodies)
    assert statuses.count(200) == 10 and statuses.count(403) == 54
    assert usage(url, key)["test"] == {
        "requests": {"daily": 10, "monthly": 10, "total": 10},
        "tokens": {"daily": 50, "monthly": 50, "total": 50},
    }


def test_tokens_are_reserved_for_the_worst_case_and_settled_to_the_real_use(proxy):
    url, _ = proxy
    key = new_account(url, "settler", {"test": {"tokens": {"total": 12}}})
    wide = {"request": {"model": "simple/deterministic", "prompt": "Q: wide\nA:", "temperature": 0.0, "max_tokens": 5}}
    assert send_all(url, key, [wide]) == [200]  # reserved 3 + 5, used 3 + 2
    assert usage(url, key)["test"]["tokens"]["total"] == 5
    again = dict(wide, request=dict(wide["request"], prompt="Q: wider\nA:"))
    refused = requests.post(url + "/api/request", json=again, headers={"Authorization": f"Bearer {key}"})
    assert refused.status_code == 403  # 5 used + 8 reserved > 12, though it would have used 5
    assert "total quota of 12 tokens for model group 'test'" in refused.json()["error"]
    assert "up to 8 more tokens" in refused.json()["error"]
    cached = requests.post(url + "/api/request", json=wide, headers={"Authorization": f"Bearer {key}"})
    assert cached.status_code == 200 and cached.json()["cached"]  # the cache is free


def test_usage_counted_before_token_quotas_is_kept(tmp_path):
    """An accounts file from the earlier version (usage without a unit) reads as request usage."""
    path = tmp_path / "accounts.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE accounts (username TEXT PRIMARY KEY, key_hash TEXT UNIQUE NOT NULL,
                                   is_admin INTEGER NOT NULL, quotas TEXT NOT NULL);
            CREATE TABLE usage (username TEXT NOT NULL, model_group TEXT NOT NULL, period_kind TEXT NOT NULL,
                                period TEXT NOT NULL, used INTEGER NOT NULL,
                                PRIMARY KEY (username, model_group, period_kind, period));
            INSERT INTO usage VALUES ('ann', 'openai', 'total', 'all', 7);
            """
        )
        db.execute("INSERT INTO accounts VALUES ('ann', 'h', 0, ?)", (json.dumps({"openai": {"total": 9}}),))
    accounts = Accounts(path)
    assert accounts.usage("ann") == {"openai": {"requests": {"total": 7}}}
    assert accounts.get("ann").quotas == {"openai": {"requests": {"total": 9}}}
    accounts.close()
