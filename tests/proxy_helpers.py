"""Running a real proxy for tests: cheroot on 127.0.0.1, in this process or as `python -m crfm_eval.proxy`."""

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import requests
from conftest import REPO, TESTS

SIMPLE_MODELS = {
    "simple.yaml": "name: simple/deterministic\nclient: crfm_eval.models.clients.simple.SimpleClient\ngroup: test\n",
    "slow.yaml": "name: simple/slow\nclient: crfm_eval.models.clients.simple.SimpleClient\nargs:\n  latency: 0.05\ngroup: slow\n",
}


def write_models(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in SIMPLE_MODELS.items():
        (folder / name).write_text(text)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not come up within {seconds} s")


@contextmanager
def proxy_in_thread(base_dir: Path, models_dir: Path, admin_key: str) -> Iterator[str]:
    from crfm_eval.proxy.__main__ import build_server

    os.environ["CRFM_EVAL_ADMIN_KEY"] = admin_key
    try:
        server = build_server("127.0.0.1", 0, base_dir, models_dir, threads=40)
    finally:
        del os.environ["CRFM_EVAL_ADMIN_KEY"]
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.bind_addr[1]}"
    finally:
        server.stop()


@contextmanager
def proxy_process(base_dir: Path, models_dir: Path, admin_key: str, log_file: Path) -> Iterator[str]:
    port = free_port()
    # This checkout first, as run_cli does: the proxy under test is the code next to the tests.
    env = {**os.environ, "CRFM_EVAL_ADMIN_KEY": admin_key, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)])}
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crfm_eval.proxy",
                "--port",
                str(port),
                "--base-dir",
                str(base_dir),
                "--models-dir",
                str(models_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + "/api/general_info")
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)
