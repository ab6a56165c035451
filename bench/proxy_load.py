"""Benchmark: cached requests per second through the proxy, with 8 and 32 concurrent clients.

    python bench/proxy_load.py [--requests 2000] [--seconds 30]

Starts `python -m crfm_eval.proxy` on a free loopback port with the simple model, fills its cache
with the distinct prompts, then has N client threads (each with its own connection) send them again
(all cache hits). Loopback only; each phase is bounded by a request count and a time limit.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ADMIN_KEY = "bench-admin-key-0000"
MODEL = "name: simple/deterministic\nclient: crfm_eval.models.clients.simple.SimpleClient\ngroup: test\n"
DISTINCT_PROMPTS = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def body(index: int) -> dict:
    prompt = f"Q: question {index % DISTINCT_PROMPTS}\nA: yes\n\nQ: question\nA:"
    return {"request": {"model": "simple/deterministic", "prompt": prompt, "temperature": 0.0, "max_tokens": 3}}


def load(url: str, clients: int, total: int, seconds: float) -> tuple[int, float, int]:
    """(requests done, elapsed seconds, errors) with `clients` threads sharing `total` requests."""
    counter = iter(range(total))
    lock = threading.Lock()
    done, errors = [0], [0]
    deadline = time.monotonic() + seconds

    def worker() -> None:
        session = requests.Session()
        while time.monotonic() < deadline:
            with lock:
                index = next(counter, None)
            if index is None:
                return
            response = session.post(
                url + "/api/request", json=body(index), headers={"Authorization": f"Bearer {ADMIN_KEY}"}
            )
            with lock:
                done[0] += 1
                errors[0] += response.status_code != 200 or not response.json()["cached"]

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0], time.perf_counter() - start, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000, help="requests per phase")
    parser.add_argument("--seconds", type=float, default=30.0, help="time limit per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crfm_eval_proxy_bench_") as folder:
        models = Path(folder, "models")
        models.mkdir()
        (models / "simple.yaml").write_text(MODEL)
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crfm_eval.proxy",
                "--port",
                str(port),
                "--base-dir",
                str(Path(folder, "base")),
                "--models-dir",
                str(models),
                "--threads",
                "64",
            ],
            env={**os.environ, "CRFM_EVAL_ADMIN_KEY": ADMIN_KEY},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    requests.get(url + "/api/general_info", timeout=1)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
            warm = requests.Session()
            for index in range(DISTINCT_PROMPTS):  # fill the cache
                warm.post(url + "/api/request", json=body(index), headers={"Authorization": f"Bearer {ADMIN_KEY}"})
            for clients in (8, 32):
                done, elapsed, errors = load(url, clients, args.requests, args.seconds)
                print(
                    f"{clients} concurrent clients: {done} cached requests in {elapsed:.1f} s = {done / elapsed:.0f} requests/s ({errors} errors)"
                )
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"reproduce: python bench/proxy_load.py --requests {args.requests} --seconds {args.seconds:g}")


if __name__ == "__main__":
    main()
