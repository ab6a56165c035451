"""Running a real proxy for tests: `python -m crfm_eval.proxy` (gunicorn) as a process on 127.0.0.1."""

import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

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


def wait_until_up(url: str, seconds: float = 60, process: Optional[subprocess.Popen] = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the server at {url} exited with status {process.returncode}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up within {seconds} s")


def wait_for_workers(log_file: Path, workers: int, seconds: float = 60) -> None:
    """Until every worker has booted (the first one answers before the others are up)."""
    deadline = time.monotonic() + seconds
    while len(set(re.findall(r"Booting worker with pid: (\d+)", log_file.read_text()))) < workers:
        assert time.monotonic() < deadline, f"{workers} workers did not start within {seconds} s"
        time.sleep(0.05)


@contextmanager
def proxy_process(
    base_dir: Path,
    models_dir: Path,
    admin_key: str,
    log_file: Path,
    workers: int = 1,
    extra_args: tuple[str, ...] = (),
) -> Iterator[str]:
    """The proxy as a user starts it; its log (gunicorn's and the access log) goes to `log_file`."""
    port = free_port()
    # The checkout under test first (a worktree runs its own code), then the tests' helper modules.
    env = {**os.environ, "CRFM_EVAL_ADMIN_KEY": admin_key, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)])}
    command = [sys.executable, "-m", "crfm_eval.proxy", "--port", str(port), "--base-dir", str(base_dir)]
    command += ["--models-dir", str(models_dir), "--workers", str(workers), *extra_args]
    with log_file.open("a") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(url + "/api/general_info", process=process)
            wait_for_workers(log_file, workers)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=60)


@contextmanager
def simple_proxy(folder: Path, admin_key: str, workers: int = 1, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """A proxy serving the simple models, its base dir, models and log under `folder`."""
    with proxy_process(
        folder / "base", write_models(folder / "models"), admin_key, folder / "proxy.log", workers, extra_args
    ) as url:
        yield url
