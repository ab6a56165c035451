"""Processes and threads sharing one cache: nothing lost to "database is locked", no request paid twice in flight."""

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

from crfm_eval.models.cache import TABLE, RequestCache
from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.models.in_flight import InFlight
from crfm_eval.models.service import LocalService
from crfm_eval.specs import ModelSpec
from crfm_eval.states import Request

PROCESSES = 3
PUTS = 200


def _writer(path: Path, worker: int, barrier, errors) -> None:
    barrier.wait()  # every process opens the fresh file at the same moment
    try:
        cache = RequestCache(path)
        for index in range(PUTS):
            cache.put(f"{worker}-{index}", {"worker": worker, "index": index})
        cache.close()
    except Exception as error:
        errors.put(f"{type(error).__name__}: {error}")


def test_processes_writing_one_fresh_cache_lose_nothing(tmp_path):
    context = multiprocessing.get_context("spawn")
    for round_index in range(4):  # opening a fresh file together is where plain sqlitedict failed
        path = tmp_path / f"round{round_index}" / "model.sqlite"
        barrier, errors = context.Barrier(PROCESSES), context.Queue()
        workers = [context.Process(target=_writer, args=(path, worker, barrier, errors)) for worker in range(PROCESSES)]
        for process in workers:
            process.start()
        for process in workers:
            process.join(timeout=120)
        assert [process.exitcode for process in workers] == [0] * PROCESSES
        assert errors.empty(), errors.get()
        cache = RequestCache(path)
        assert len(cache) == PROCESSES * PUTS
        assert cache.get(f"{PROCESSES - 1}-{PUTS - 1}") == {"worker": PROCESSES - 1, "index": PUTS - 1}
        cache.close()


def _hold_write_lock(path: Path, seconds: float, ready) -> None:
    connection = sqlite3.connect(str(path), timeout=60)
    connection.execute("BEGIN IMMEDIATE")
    ready.set()
    time.sleep(seconds)
    connection.rollback()


def test_a_put_outwaits_a_lock_held_longer_than_sqlites_default(tmp_path):
    """Another process holds the write lock 6 s; Python's sqlite3 would give up after 5 s."""
    path = tmp_path / "model.sqlite"
    RequestCache(path).close()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    holder = context.Process(target=_hold_write_lock, args=(path, 6.0, ready))
    holder.start()
    assert ready.wait(timeout=60)
    cache = RequestCache(path)
    cache.put("key", {"answer": "Yes"})
    holder.join(timeout=60)
    assert cache.get("key") == {"answer": "Yes"}
    cache.close()
    with sqlite3.connect(str(path)) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute(f'SELECT COUNT(*) FROM "{TABLE}"').fetchone()[0] == 1


def test_in_flight_runs_one_call_for_concurrent_callers():
    in_flight: InFlight[str] = InFlight()
    calls, release = [], threading.Event()

    def compute() -> str:
        calls.append(1)
        release.wait(timeout=30)
        return "answer"

    results = []
    threads = [threading.Thread(target=lambda: results.append(in_flight.run("key", compute))) for _ in range(4)]
    for thread in threads:
        thread.start()
    while len(calls) < 1:
        time.sleep(0.001)
    time.sleep(0.05)  # let the other callers reach the wait
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert len(calls) == 1
    assert sorted(results) == [("answer", False)] + [("answer", True)] * 3


class SlowCountingClient(SimpleClient):
    def __init__(self) -> None:
        super().__init__(latency=0.2)
        self.calls = 0

    def make_request(self, request: Request):
        self.calls += 1
        return super().make_request(request)


def test_service_asks_the_model_once_for_identical_requests_in_flight(tmp_path):
    spec = ModelSpec(name="slow", client=f"{__name__}.SlowCountingClient", args={})
    service = LocalService([spec], tmp_path / "cache")
    request = Request(model="slow", prompt="Question: sky blue?\nAnswer: Yes\nQuestion: grass blue?\nAnswer:")
    results = []
    threads = [threading.Thread(target=lambda: results.append(service.make_request(request))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    client, _ = service._client_and_cache("slow")
    assert client.calls == 1 and service.num_model_calls == 1
    assert len({result.completions[0].text for result in results}) == 1
    assert sorted(result.cached for result in results) == [False, True, True, True]
    service.close()
