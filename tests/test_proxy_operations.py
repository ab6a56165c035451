"""Running the proxy as a team's server: the access log, general info, connections under load, and
evaluation jobs (Hydra's submitit launcher, 3 processes at once) sharing one proxy as their cache."""

import json
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import REPO, run_cli
from proxy_helpers import simple_proxy

import crfm_eval
from crfm_eval.models.cache import RequestCache
from crfm_eval.proxy.accounts import Accounts
from crfm_eval.proxy.limits import LIMITS
from crfm_eval.proxy.server import OPENAPI_FILE

ADMIN_KEY = "admin-key-operations-77c0"
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}
CLF_WITH_LATENCY = re.compile(
    r"^(?P<host>\S+) - (?P<user>\S+) \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] "
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/1\.1" (?P<status>\d{3}) (?P<size>\d+|-) (?P<ms>\d+\.\d{2})$'
)


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("proxy")
    access_log = folder / "access.log"
    with simple_proxy(folder, ADMIN_KEY, workers=2, extra_args=("--access-log", str(access_log))) as url:
        yield url, folder, access_log


def test_the_access_log_has_one_common_log_format_line_per_request_and_no_key(proxy):
    url, _, access_log = proxy
    key = requests.post(url + "/api/account", json={"username": "logged"}, headers=AUTH, timeout=30).json()["api_key"]
    before = len(access_log.read_text().splitlines())
    body = {"request": {"model": "simple/deterministic", "prompt": "Q: log\nA: yes\n\nQ: log\nA:", "max_tokens": 2}}
    user = {"Authorization": f"Bearer {key}"}
    answers = [
        requests.post(url + "/api/request", json=body, headers=user, timeout=30),  # 200
        requests.post(url + "/api/request", data=b"{", headers=user, timeout=30),  # 400
        requests.get(url + "/api/account?username=logged&secret=" + key, headers=user, timeout=30),  # 400
        requests.get(url + "/api/account", headers={"Authorization": f"Bearer {key}x"}, timeout=30),  # 401
        requests.get(url + "/nowhere", timeout=30),  # 404
    ]
    lines = access_log.read_text().splitlines()[before:]
    assert len(lines) == len(answers)
    parsed = [CLF_WITH_LATENCY.match(line) for line in lines]
    assert all(parsed), lines
    assert [(m["method"], m["path"], int(m["status"]), m["user"]) for m in parsed] == [
        ("POST", "/api/request", 200, "logged"),
        ("POST", "/api/request", 400, "logged"),
        ("GET", "/api/account", 400, "logged"),  # the query string is never written
        ("GET", "/api/account", 401, "-"),
        ("GET", "/nowhere", 404, "-"),
    ]
    assert [int(m["size"]) for m in parsed] == [len(answer.content) for answer in answers]
    assert all(float(m["ms"]) >= 0 for m in parsed)
    assert key not in access_log.read_text() and ADMIN_KEY not in access_log.read_text()


def test_general_info_gives_the_version_the_models_and_the_limits(proxy):
    url, _, _ = proxy
    info = requests.get(url + "/api/general_info", timeout=30).json()
    assert info["version"] == crfm_eval.__version__
    assert [model["name"] for model in info["models"]] == ["simple/deterministic", "simple/slow"]
    assert info["limits"] == LIMITS.as_json()


def test_openapi_states_the_limits_the_server_applies():
    document = json.loads(OPENAPI_FILE.read_text())
    request = document["components"]["schemas"]["Request"]["properties"]
    assert request["num_completions"]["maximum"] == LIMITS.max_num_completions
    assert request["max_tokens"]["maximum"] == LIMITS.max_tokens
    assert request["top_k_per_token"]["maximum"] == LIMITS.max_top_k_per_token
    assert request["temperature"]["maximum"] == LIMITS.max_temperature
    assert request["stop_sequences"]["maxItems"] == LIMITS.max_stop_sequences
    limits = document["components"]["schemas"]["Limits"]["properties"]
    assert {name: spec["const"] for name, spec in limits.items()} == LIMITS.as_json()
    assert str(LIMITS.max_body_bytes) in json.dumps(document["paths"]["/api/account"]["post"]["responses"]["413"])


def test_32_clients_see_no_reset_connection(proxy):
    """cheroot's defaults (listen backlog 5, 10 kept-alive connections) reset connections at 32 clients.
    Here 32 clients at once, half opening a new connection for every request, half keeping theirs."""
    url, _, _ = proxy
    body = {"request": {"model": "simple/deterministic", "prompt": "Q: load\nA: yes\n\nQ: load\nA:", "max_tokens": 2}}
    requests.post(url + "/api/request", json=body, headers=AUTH, timeout=30)
    errors: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> int:
        session = requests.Session() if index % 2 else None
        done = 0
        for _ in range(60):
            try:
                headers = AUTH if session else {**AUTH, "Connection": "close"}
                sender = session or requests
                answer = sender.post(url + "/api/request", json=body, headers=headers, timeout=30)
                done += answer.status_code == 200 and answer.json()["cached"]
            except requests.RequestException as error:
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
        return done

    with ThreadPoolExecutor(32) as pool:
        done = sum(pool.map(client, range(32)))
    assert errors == [] and done == 32 * 60


def test_three_evaluation_jobs_share_one_proxy_as_their_cache(proxy, tmp_path, shared_data):
    """Three jobs at once (submitit's local launcher: a process each), one proxy for their requests.
    Afterwards a fourth run finds every result in the proxy's cache: nothing more is charged."""
    url, folder, _ = proxy
    key = requests.post(url + "/api/account", json={"username": "cluster"}, headers=AUTH, timeout=30).json()["api_key"]
    common = (
        "model=simple",
        "adaptation=5shot",
        "max_eval_instances=120",  # enough work that the three jobs overlap on a loaded machine
        "execution=proxy",
        f"execution.url={url}",
        "execution.progress=false",
        f"data_dir={shared_data}",
    )
    environment = {"CRFM_EVAL_API_KEY": key}
    swept = run_cli(
        "-m",
        "hydra/launcher=submitit_local",
        "hydra.launcher.timeout_min=10",
        "seed=0",
        "suite=job_a,job_b,job_c",
        *common,
        cwd=tmp_path,
        extra_env=environment,
    )
    assert swept.returncode == 0, swept.stdout + swept.stderr
    statuses, stats = [], []
    for suite in ("job_a", "job_b", "job_c"):
        run_dir = next((tmp_path / "outputs" / "runs" / suite).glob("*/run_spec.json")).parent
        statuses.append(json.loads((run_dir / "status.json").read_text()))
        manifest = json.loads((run_dir / "manifest.json").read_text())
        assert manifest["num_failed_requests"] == 0
        stats.append([s for s in json.loads((run_dir / "stats.json").read_text()) if s["name"] != "inference_runtime"])
    assert stats[0] == stats[1] == stats[2]
    assert len({status["pid"] for status in statuses}) == 3
    assert max(s["started_at"] for s in statuses) < min(s["ended_at"] for s in statuses)  # all three at once
    charged = requests.get(url + "/api/account", headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    calls = charged["usage"]["test"]["requests"]["total"]
    assert 120 <= calls <= 3 * 120  # identical requests: cached or shared in flight, at most once per worker

    rerun = run_cli("suite=later", "seed=0", *common, cwd=tmp_path / "outputs", extra_env=environment)
    assert rerun.returncode == 0, rerun.stderr
    after = requests.get(url + "/api/account", headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
    assert after["usage"]["test"]["requests"]["total"] == calls


def test_backup_while_serving_copies_accounts_and_cache(proxy, tmp_path):
    url, folder, _ = proxy
    key = requests.post(url + "/api/account", json={"username": "backed-up"}, headers=AUTH, timeout=30).json()[
        "api_key"
    ]
    body = {"request": {"model": "simple/deterministic", "prompt": "Q: keep\nA: yes\n\nQ: keep\nA:", "max_tokens": 2}}
    assert requests.post(url + "/api/request", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30).ok
    completed = subprocess.run(
        [sys.executable, "-m", "crfm_eval.proxy.backup", str(folder / "base"), str(tmp_path / "copy")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert completed.returncode == 0, completed.stderr
    copy = Accounts(tmp_path / "copy" / "accounts.sqlite")
    assert copy.authenticate(key).username == "backed-up"
    assert copy.usage("backed-up")["test"]["requests"]["total"] == 1
    copy.close()
    cache = RequestCache(tmp_path / "copy" / "cache" / "simple_deterministic.sqlite")
    assert len(cache) >= 1
    cache.close()
    again = subprocess.run(
        [sys.executable, "-m", "crfm_eval.proxy.backup", str(folder / "base"), str(tmp_path / "copy")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert again.returncode == 1 and "exists already" in again.stderr
