"""Many threads writing one sqlite file: each put is durable when it returns, and puts that arrive
together share one transaction (group commit).

Measured with bench/request_rate.py (16 threads, a server answering in 50 ms): with a commit per
result behind sqlitedict's one worker thread, a request spent ~6 ms of its ~57 ms waiting for the
cache, reads queued behind commits (each commit fsyncs the write-ahead log). Here one writer
thread takes every put waiting at that moment, writes them in one transaction and commits once;
each caller is released only after that commit, so a result is on disk before the run counts it
done (a process killed at any moment loses at most the puts still waiting, whose callers had not
returned). Reads do not go through the writer at all: each thread has its own connection, and
WAL lets readers work while the writer commits.

A put whose key or value cannot be stored as UTF-8 text (a lone surrogate) fails in its caller
before it joins a batch, so one bad request never fails another's put.
"""

import functools
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Optional

from crfm_eval.models.shared_sqlite import retry_while_locked

Connect = Callable[[], sqlite3.Connection]


class GroupCommitWriter:
    """INSERT OR REPLACE of (key, value) text rows into `table`, committed in groups by one thread."""

    def __init__(self, path: Path, table: str, connect: Connect) -> None:
        self._path = path
        self._statement = f'INSERT OR REPLACE INTO "{table}" (key, value) VALUES (?, ?)'
        self._connect = connect
        self._condition = threading.Condition()
        self._pending: list[tuple[str, str, Future[None]]] = []
        self._thread: Optional[threading.Thread] = None
        self._closed = False

    def put(self, key: str, value: str) -> None:
        """Store `value` under `key`; returns once it is committed."""
        self.put_many([(key, value)])

    def put_many(self, items: list[tuple[str, str]]) -> None:
        """Store every (key, value) of `items`; returns once all are committed (in one transaction
        with the other puts waiting at that moment, rather than one commit each)."""
        for key, value in items:
            key.encode("utf-8"), value.encode("utf-8")  # text sqlite cannot hold fails here, in its caller
        waits: list[Future[None]] = [Future() for _ in items]
        with self._condition:
            if self._closed:
                raise RuntimeError(f"the cache {self._path} is closed")
            self._pending += [(key, value, done) for (key, value), done in zip(items, waits, strict=True)]
            if self._thread is None:
                self._thread = threading.Thread(target=self._write_loop, name="cache-writer", daemon=True)
                self._thread.start()
            self._condition.notify()
        for done in waits:
            done.result()

    def close(self) -> None:
        """Commit what is waiting, then stop the writer thread."""
        with self._condition:
            self._closed = True
            self._condition.notify()
            thread = self._thread
        if thread is not None:
            thread.join()

    def _write_loop(self) -> None:
        connection = self._connect()
        try:
            while True:
                with self._condition:
                    while not self._pending and not self._closed:
                        self._condition.wait()
                    batch, self._pending = self._pending, []
                if not batch:
                    return  # closed, and nothing left to write
                try:
                    retry_while_locked(functools.partial(self._commit, connection, batch), self._path)
                except BaseException as error:  # a storage failure concerns exactly this batch's rows
                    for _, _, done in batch:
                        done.set_exception(error)
                else:
                    for _, _, done in batch:
                        done.set_result(None)
        finally:
            connection.close()

    def _commit(self, connection: sqlite3.Connection, batch: list[tuple[str, str, Future[None]]]) -> None:
        """One transaction for the batch, on a connection in autocommit mode: opened with the write
        lock (IMMEDIATE, waiting for another process's), committed, or rolled back on error (then retried)."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(self._statement, [(key, value) for key, value, _ in batch])
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
