"""Benchmark: cached requests per second through the proxy, with 1, 2 and 4 worker processes.

    python bench/proxy_load.py [--workers 1 2 4] [--seconds 15] [--clients 8] [--data-dir ../shared/data]
    python bench/proxy_load.py --workers 2 --connections-test      # also: 32 clients x 3,000 requests each

Starts `python -m crfm_eval.proxy` (gunicorn, access log on, to a file) on a loopback port with the
simple model, fills its cache with 200 distinct BoolQ prompts of 1,900 characters (dev passages and
questions in the 5-shot layout, cut to length), then has `wrk` send them again (all cache hits) from
2 threads over `--clients` keep-alive connections for `--seconds`, and prints requests/s, latency
percentiles, errors and the load average. The connections test has 32 connections send 3,000
requests each (96,000 in all) and reports connection errors (resets) and the p99 latency.

Why wrk: the load generator shares the machine's cores with the server. A Python client spends more
CPU per request than the server does, so it measures itself; wrk (C, epoll; Debian's `wrk` package)
costs a small fraction of a core at these rates. Its Lua script (written next to the run) rotates
the POST bodies and stops each wrk thread once its connections have sent their share.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ADMIN_KEY = "bench-admin-key-0000"
MODEL = "name: simple/deterministic\nclient: crfm_eval.models.clients.simple.SimpleClient\ngroup: test\n"
DISTINCT_PROMPTS = 200
PROMPT_CHARS = 1900
REPO = Path(__file__).resolve().parents[1]

WRK_SCRIPT = """
local bodies, count, index = {}, 0, 0
local per_thread_limit = tonumber(os.getenv("BENCH_REQUESTS_PER_THREAD") or "0")
local sent = 0
started, finished = 0, 0  -- globals: done() reads them from each thread
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  started = os.time()
  for line in io.lines(os.getenv("BENCH_BODIES")) do
    count = count + 1
    bodies[count] = line
  end
  index = math.random(count)
end
function request()
  index = index % count + 1
  return wrk.format("POST", "/api/request",
    {["Authorization"] = "Bearer BENCH_KEY", ["Content-Type"] = "application/json"}, bodies[index])
end
function response(status, headers, body)
  sent = sent + 1
  if per_thread_limit > 0 and sent >= per_thread_limit then
    finished = os.time()
    wrk.thread:stop()
  end
end
function done(summary, latency, requests)
  -- wrk waits out -d even when every thread stopped early: the threads' own clocks give the time
  -- they took (whole seconds; the phase lasts a minute or more).
  local first, last = nil, 0
  for _, thread in ipairs(threads) do
    local s, f = thread:get("started"), thread:get("finished")
    if first == nil or s < first then first = s end
    if f > last then last = f end
  end
  local stopped_after = (last > 0) and (last - first) or 0
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "seconds": %.3f, "stopped_after": %d, "p50_ms": %.2f, "p90_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration / 1e6, stopped_after, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def boolq_prompts(data_dir: Path) -> list[str]:
    """Distinct prompts of exactly PROMPT_CHARS characters: BoolQ dev passages and questions in the
    5-shot layout (examples first, the question last), cut from the front."""
    lines = (data_dir / "boolq" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines[: DISTINCT_PROMPTS + 5]]
    shots = "".join(
        f"Passage: {row['passage']}\nQuestion: {row['question']}?\nAnswer: {'Yes' if row['answer'] else 'No'}\n\n"
        for row in rows[:5]
    )
    prompts = []
    for row in rows[5:]:
        text = f"{shots}Passage: {row['passage']}\nQuestion: {row['question']}?\nAnswer:"
        prompts.append(text[-PROMPT_CHARS:])
    return prompts


def request_body(prompt: str) -> dict:
    return {"request": {"model": "simple/deterministic", "prompt": prompt, "temperature": 0.0, "max_tokens": 1}}


def run_wrk(url: str, folder: Path, connections: int, seconds: float, per_connection: int = 0) -> dict:
    script = folder / "bench.lua"
    script.write_text(WRK_SCRIPT.replace("BENCH_KEY", ADMIN_KEY))
    threads = min(2, connections)
    env = {
        **os.environ,
        "BENCH_BODIES": str(folder / "bodies.jsonl"),
        "BENCH_REQUESTS_PER_THREAD": str(per_connection * connections // threads),
    }
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s", "-s", str(script), url]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    line = next(line for line in completed.stdout.splitlines() if line.startswith("BENCH "))
    return json.loads(line[len("BENCH ") :])


def server_cpu_seconds(server_pid: int) -> float:
    """CPU time (user + system) of the server and its worker processes, from /proc: a figure the
    other programs on a shared machine do not change, unlike requests/s."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, parent = int(stat.parent.name), int(fields[1])
        if pid == server_pid or parent == server_pid:
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def start_proxy(folder: Path, workers: int, checkout: Path = REPO) -> tuple[subprocess.Popen, str]:
    """This checkout's proxy; or another checkout's, started with the options every version has."""
    port = free_port()
    models = folder / "models"
    models.mkdir(exist_ok=True)
    (models / "simple.yaml").write_text(MODEL)
    command = [sys.executable, "-m", "crfm_eval.proxy", "--port", str(port), "--base-dir", str(folder / "base")]
    command += ["--models-dir", str(models)]
    if checkout == REPO:
        command += ["--workers", str(workers), "--access-log", str(folder / "access.log")]
    env = {**os.environ, "CRFM_EVAL_ADMIN_KEY": ADMIN_KEY, "PYTHONPATH": str(checkout)}
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            requests.get(url + "/api/general_info", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.1)
    time.sleep(1.0 * workers)  # the other workers boot after the first answers
    return server, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each measured phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive connections")
    parser.add_argument(
        "--baseline-checkout",
        type=Path,
        help="also measure the proxy of another checkout (e.g. an older main) the same way, first",
    )
    parser.add_argument("--connections-test", action="store_true", help="also 32 clients x 3,000 requests each")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("CRFM_EVAL_DATA_DIR", REPO.parent / "shared" / "data"))
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("This benchmark needs wrk: apt-get install wrk")
    prompts = boolq_prompts(args.data_dir)
    print(f"{len(prompts)} distinct prompts of {PROMPT_CHARS} characters; wrk: 2 threads, {args.clients} connections")
    runs = [(workers, REPO) for workers in args.workers]
    if args.baseline_checkout:
        runs.insert(0, (1, args.baseline_checkout.resolve()))
    for workers, checkout in runs:
        with tempfile.TemporaryDirectory(prefix="crfm_eval_proxy_bench_") as name:
            folder = Path(name)
            (folder / "bodies.jsonl").write_text("".join(json.dumps(request_body(p)) + "\n" for p in prompts))
            server, url = start_proxy(folder, workers, checkout)
            label = f"workers={workers}" if checkout == REPO else f"baseline {checkout}"
            try:
                session = requests.Session()
                headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
                for prompt in prompts:  # fill the cache
                    assert session.post(url + "/api/request", json=request_body(prompt), headers=headers).ok
                run_wrk(url, folder, args.clients, 3)  # warm-up
                cpu_before = server_cpu_seconds(server.pid)
                result = run_wrk(url, folder, args.clients, args.seconds)
                cpu_per_request = (server_cpu_seconds(server.pid) - cpu_before) / result["requests"]
                load = os.getloadavg()
                errors = sum(result[kind] for kind in ("connect", "read", "write", "status", "timeout"))
                print(
                    f"{label}: {result['requests'] / result['seconds']:.0f} cached requests/s "
                    f"({result['requests']} in {result['seconds']:.1f} s), latency p50 {result['p50_ms']:.1f} ms, "
                    f"p99 {result['p99_ms']:.1f} ms, errors {errors}, server CPU {cpu_per_request * 1e6:.0f} us/request "
                    f"(= {1 / cpu_per_request:.0f} requests/s per core); "
                    f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
                )
                if args.connections_test:
                    rate = result["requests"] / result["seconds"]  # of the 8-client phase: bounds this one
                    result = run_wrk(url, folder, 32, min(900, int(20 + 2 * 96_000 / rate)), per_connection=3000)
                    wall = max(1, result["stopped_after"])
                    load = os.getloadavg()
                    resets = result["connect"] + result["read"] + result["write"]
                    print(
                        f"{label}, 32 clients x 3,000 requests: {result['requests']} requests, "
                        f"{result['requests'] / wall:.0f}/s, connection errors (resets) {resets}, "
                        f"timeouts {result['timeout']}, non-2xx {result['status']}, p50 {result['p50_ms']:.1f} ms, "
                        f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.0f} ms; "
                        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
                    )
            finally:
                server.terminate()
                server.wait(timeout=60)
    baseline = f" --baseline-checkout {args.baseline_checkout}" if args.baseline_checkout else ""
    connections = " --connections-test" if args.connections_test else ""
    workers = " ".join(map(str, args.workers))
    print(
        f"reproduce: python bench/proxy_load.py --workers {workers} --seconds {args.seconds:g}{baseline}{connections}"
    )


if __name__ == "__main__":
    main()
