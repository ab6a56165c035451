"""The persistent request cache: an sqlite file per model, keyed by everything that changes the answer.

The key is canonical JSON (sorted keys, no spaces) of the model's name, the client's identity
(class and whatever its `cache_identity` names, e.g. a base URL) and every field of the Request:
the full prompt, every decoding parameter, the number of completions, the seed and the sample tag.
Only successful results are stored, and each is committed before `put` returns, so a killed run
never pays twice for a finished request (puts of concurrent threads share a commit: see group_commit).
"""

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Optional

from crfm_eval.models.group_commit import GroupCommitWriter
from crfm_eval.models.shared_sqlite import JOURNAL_MODE, LOCK_WAIT_SECONDS, prepare, retry_while_locked
from crfm_eval.states import Request

TABLE = "requests"
SYNCHRONOUS = "NORMAL"
"""A commit reaches the OS, not the disk: it survives the process being killed at any moment (what
resuming needs), while a power cut may lose the last results (asked again then). Measured here,
FULL's fsync made a commit 6-20 ms instead of 0.07 ms on a busy disk, and every request waits for
its commit: with requests answered in 50 ms that alone cost 10-30% of the request rate."""


def cache_key(model: str, client_identity: dict[str, Any], request: Request) -> str:
    # vars(), not dataclasses.asdict(): the same dict (Request's fields are plain values) without
    # asdict's deep copy, which took half the time of building the key.
    content = {"model": model, "client": client_identity, "request": vars(request)}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RequestCache:
    """Key -> JSON result, durable on `put`. Safe to share between threads and processes
    (see `shared_sqlite` for how several processes share one file, `group_commit` for how threads
    share the writes). The file keeps sqlitedict's table layout (key TEXT, value as JSON text)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        retry_while_locked(lambda: prepare(path, TABLE), path)
        self._select = f'SELECT value FROM "{TABLE}" WHERE key = ?'
        self._readers = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writer = GroupCommitWriter(path, TABLE, self._connect)

    def _connect(self) -> sqlite3.Connection:
        # Closed by close(), from whichever thread calls it, once the threads that read are done.
        connection = sqlite3.connect(str(self.path), timeout=LOCK_WAIT_SECONDS, check_same_thread=False)
        connection.execute(f"PRAGMA journal_mode = {JOURNAL_MODE}")
        connection.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def _reader(self) -> sqlite3.Connection:
        connection = getattr(self._readers, "connection", None)
        if connection is None:
            connection = self._readers.connection = retry_while_locked(self._connect, self.path)
        return connection

    def get(self, key: str) -> Optional[dict[str, Any]]:
        reader = self._reader()
        row = retry_while_locked(lambda: reader.execute(self._select, (key,)).fetchone(), self.path)
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._writer.put(key, _encode(value))

    def __len__(self) -> int:
        reader = self._reader()
        return retry_while_locked(lambda: reader.execute(f'SELECT COUNT(*) FROM "{TABLE}"').fetchone()[0], self.path)

    def close(self) -> None:
        self._writer.close()
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
