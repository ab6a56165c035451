"""The cache's writes: a put is on disk when it returns, concurrent puts share commits, and a put
that cannot be stored (a key that is not UTF-8 text) fails alone, even beside others in a batch."""

import sqlite3
import threading

import pytest

from crfm_eval.models.cache import TABLE, RequestCache


def _stored(path) -> dict[str, str]:
    with sqlite3.connect(str(path)) as connection:  # another connection: what is really committed
        return dict(connection.execute(f'SELECT key, value FROM "{TABLE}"').fetchall())


def test_each_put_is_committed_when_it_returns_and_threads_share_commits(tmp_path):
    path = tmp_path / "model.sqlite"
    cache = RequestCache(path)
    statements = []
    seen_after_put, errors = [], []

    def writer(worker: int) -> None:
        try:
            for index in range(50):
                key = f"{worker}-{index}"
                cache.put(key, {"worker": worker, "index": index})
                seen_after_put.append(key in _stored(path))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    original_connect = cache._writer_connection

    def counting_connect():
        connection = original_connect()
        connection.set_trace_callback(statements.append)
        return connection

    cache._writer._connect = counting_connect
    threads = [threading.Thread(target=writer, args=(worker,)) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors and len(seen_after_put) == 400 and all(seen_after_put)
    assert cache.get("7-49") == {"worker": 7, "index": 49} and len(cache) == 400
    commits = sum(statement == "COMMIT" for statement in statements)
    assert 0 < commits < 400  # some puts shared a transaction
    cache.close()


def test_a_value_that_cannot_be_stored_fails_only_its_own_put(tmp_path):
    cache = RequestCache(tmp_path / "model.sqlite")
    failures, done = [], []
    barrier = threading.Barrier(9)

    def good(index: int) -> None:
        barrier.wait()
        cache.put(f"good-{index}", {"text": "fine"})
        done.append(index)

    def bad() -> None:
        barrier.wait()
        try:
            cache.put("bad \ud800", {"text": "fine"})  # a key with a lone surrogate: not UTF-8
        except UnicodeEncodeError as error:
            failures.append(error)

    threads = [threading.Thread(target=good, args=(index,)) for index in range(8)] + [threading.Thread(target=bad)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(failures) == 1 and sorted(done) == list(range(8))
    cache.put("after", {"text": "still fine"})
    assert cache.get("after") == {"text": "still fine"} and len(cache) == 9
    cache.close()
    with pytest.raises(RuntimeError, match="closed"):
        cache.put("late", {})
