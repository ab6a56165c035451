"""The persistent request cache: a sqlite file per model, keyed by everything that changes the answer.

The key is canonical JSON (sorted keys, no spaces) of the model's name, the client's identity
(class and whatever its `cache_identity` names, e.g. a base URL) and every field of the Request:
the full prompt, every decoding parameter, the number of completions, the seed and the sample tag.
Only successful results are stored, and each is committed before `put` returns, so a killed run
never pays twice for a finished request. Puts of concurrent threads share one commit (one writer
thread, `group_commit`), and commits reach the OS rather than the disk (SYNCHRONOUS below).

The file keeps sqlitedict's layout (table `requests`, columns `key TEXT PRIMARY KEY, value BLOB`,
the value as JSON text), so caches written by earlier versions, or by sqlitedict itself, read the
same. It is not read through sqlitedict, though: sqlitedict funnels every statement of a handle
through one writer thread, which keeps the first exception it meets and raises it again in
*whichever caller touches the handle next*. One request whose text cannot be stored then failed
other, unrelated requests (the proxy's issue 15: 80 of 240 normal requests failed beside 1 in 5
bad ones). Here every thread has its own connection and every error reaches only the caller whose
statement caused it. The writer thread of `group_commit` keeps that: a batch's failure goes to
the callers whose rows were in it, and only to them.
"""

import dataclasses
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Optional

from crfm_eval.models.group_commit import GroupCommitWriter
from crfm_eval.models.shared_sqlite import LOCK_WAIT_SECONDS, prepare, retry_while_locked
from crfm_eval.states import Request

TABLE = "requests"
_SELECT = f'SELECT value FROM "{TABLE}" WHERE key = ?'
SYNCHRONOUS = "NORMAL"
"""A commit reaches the OS, not the disk: it survives the process being killed at any moment (what
resuming needs), while a power cut may lose the last results (asked again then). Measured here,
FULL's fsync made a commit 6-20 ms instead of 0.07 ms on a busy disk, and every request waits for
its commit: with requests answered in 50 ms that alone cost 10-30% of the request rate."""


def _json_text(content: Any, sort_keys: bool) -> str:
    """Compact JSON with text kept as it is (UTF-8 in the file). Text that UTF-8 cannot hold (a lone
    surrogate such as '\\ud800', which JSON input may carry) is written with \\u escapes instead:
    still the same JSON value, and such a key could never have been stored before, so no existing
    key changes. A dataclass is written as `dataclasses.asdict` would give it (its fields in order),
    without asdict's deep copy: a result's copy cost more than the rest of its put."""
    text = json.dumps(content, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False, default=_fields)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(content, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=True, default=_fields)
    return text


def _fields(value: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_REQUEST_FIELDS = tuple(field.name for field in dataclasses.fields(Request))


def cache_key(model: str, client_identity: dict[str, Any], request: Request) -> str:
    # The Request's fields as dataclasses.asdict gives them (they are plain values and a list of
    # strings), without its recursive deep copy: the key is computed for every request, cached or not.
    fields = {name: getattr(request, name) for name in _REQUEST_FIELDS}
    if fields["continuation"] is None:
        # A generation request keeps the key it had before log-likelihood requests existed, so
        # existing caches stay valid; a (prompt, continuation) pair is a key of its own.
        del fields["continuation"]
    content = {"model": model, "client": client_identity, "request": fields}
    return _json_text(content, sort_keys=True)


class RequestCache:
    """Key -> JSON result, durable on `put`. Safe to share between threads and processes
    (see `shared_sqlite` for how several processes share one file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        retry_while_locked(lambda: prepare(path, TABLE), path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writer = GroupCommitWriter(path, TABLE, self._writer_connection)

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (sqlite connections are cheap; sharing one would share its errors)."""
        connection: Optional[sqlite3.Connection] = getattr(self._local, "connection", None)
        if connection is None:
            # Autocommit: each REPLACE is its own transaction, durable when execute() returns. The
            # file is already in WAL mode (prepare), which readers and writers of every process share.
            connection = sqlite3.connect(
                str(self.path), timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False
            )
            with self._connections_lock:
                self._connections.append(connection)
            self._local.connection = connection
        return connection

    def _writer_connection(self) -> sqlite3.Connection:
        """The group-commit writer's own connection (it opens its transactions itself)."""
        connection = sqlite3.connect(
            str(self.path), timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False
        )
        connection.execute(f"PRAGMA synchronous = {SYNCHRONOUS}")
        with self._connections_lock:
            self._connections.append(connection)
        return connection

    def get(self, key: str) -> Optional[dict[str, Any]]:
        text = self.get_text(key)
        return None if text is None else json.loads(text)

    def get_text(self, key: str) -> Optional[str]:
        """The stored JSON text, as stored (a server can answer with it without decoding it)."""
        row = retry_while_locked(lambda: self._connection().execute(_SELECT, (key,)).fetchone(), self.path)
        if row is None:
            return None
        return row[0] if isinstance(row[0], str) else bytes(row[0]).decode("utf-8")

    def put(self, key: str, value: Any) -> None:
        """Returns once the value (plain JSON data, or a dataclass) is committed (with the other puts
        waiting at that moment)."""
        self._writer.put(key, _json_text(value, sort_keys=False))

    def put_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """`put` of each (key, value), committed together: one transaction, not one per value."""
        self._writer.put_many([(key, _json_text(value, sort_keys=False)) for key, value in items])

    def __len__(self) -> int:
        return retry_while_locked(
            lambda: self._connection().execute(f'SELECT COUNT(*) FROM "{TABLE}"').fetchone()[0], self.path
        )

    def close(self) -> None:
        self._writer.close()
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
