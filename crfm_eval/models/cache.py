"""The persistent request cache: a sqlitedict file per model, keyed by everything that changes the answer.

The key is canonical JSON (sorted keys, no spaces) of the model's name, the client's identity
(class and whatever its `cache_identity` names, e.g. a base URL) and every field of the Request:
the full prompt, every decoding parameter, the number of completions, the seed and the sample tag.
Only successful results are stored, and each is committed before `put` returns, so a killed run
never pays twice for a finished request.
"""

import dataclasses
import json
import threading
from pathlib import Path
from typing import Any, Optional

from sqlitedict import SqliteDict

from crfm_eval.models.shared_sqlite import JOURNAL_MODE, LOCK_WAIT_SECONDS, prepare, retry_while_locked
from crfm_eval.states import Request

TABLE = "requests"


def cache_key(model: str, client_identity: dict[str, Any], request: Request) -> str:
    fields = dataclasses.asdict(request)
    if fields["continuation"] is None:
        # A generation request keeps the key it had before log-likelihood requests existed, so
        # existing caches stay valid; a (prompt, continuation) pair is a key of its own.
        del fields["continuation"]
    content = {"model": model, "client": client_identity, "request": fields}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _encode(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class RequestCache:
    """Key -> JSON result, durable on `put`. Safe to share between threads and processes
    (see `shared_sqlite` for how several processes share one file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        retry_while_locked(lambda: prepare(path, TABLE), path)
        self._db = retry_while_locked(self._open, path)
        self._write_lock = threading.Lock()

    def _open(self) -> SqliteDict:
        db = SqliteDict(
            str(self.path),
            tablename=TABLE,
            journal_mode=JOURNAL_MODE,
            autocommit=False,
            encode=_encode,
            decode=json.loads,
            outer_stack=False,
        )
        db.conn.select_one(f"PRAGMA busy_timeout = {int(LOCK_WAIT_SECONDS * 1000)}")
        return db

    def get(self, key: str) -> Optional[dict[str, Any]]:
        return retry_while_locked(lambda: self._db.get(key), self.path)

    def put(self, key: str, value: dict[str, Any]) -> None:
        with self._write_lock:
            retry_while_locked(lambda: self._put(key, value), self.path)

    def _put(self, key: str, value: dict[str, Any]) -> None:
        self._db[key] = value
        self._db.commit(blocking=True)

    def __len__(self) -> int:
        return len(self._db)

    def close(self) -> None:
        self._db.close()
