"""Proxy accounts: API keys (stored as hashes), per-model-group quotas, and usage.

Usage counts model calls that were not served from the cache. A call first reserves one unit
of every period (day, month, total) of its model group, all at once under one lock and one
transaction, and gives it back if the model fails; so concurrent requests can never spend more
than a quota. Quotas are `{group: {"daily": n, "monthly": n, "total": n}}`; a missing period or
group is unlimited, and the group `*` applies to every group not named.
"""

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

PERIODS = ("daily", "monthly", "total")
ANY_GROUP = "*"


def hash_key(api_key: str) -> str:
    """Keys are random 256-bit strings, so one SHA-256 round is enough to keep them unrecoverable."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


def current_periods(now: Optional[datetime] = None) -> dict[str, str]:
    now = now or datetime.now(timezone.utc)
    return {"daily": now.strftime("%Y-%m-%d"), "monthly": now.strftime("%Y-%m"), "total": "all"}


@dataclass(frozen=True)
class Account:
    username: str
    is_admin: bool
    quotas: dict[str, dict[str, Optional[int]]] = field(default_factory=dict)


class AccountError(Exception):
    """A request about accounts that cannot be done (unknown or duplicate user, bad quota)."""


class Accounts:
    """The account store: one sqlite file, one connection shared by the server's threads."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS accounts (
                    username TEXT PRIMARY KEY, key_hash TEXT UNIQUE NOT NULL,
                    is_admin INTEGER NOT NULL, quotas TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS usage (
                    username TEXT NOT NULL, model_group TEXT NOT NULL, period_kind TEXT NOT NULL,
                    period TEXT NOT NULL, used INTEGER NOT NULL,
                    PRIMARY KEY (username, model_group, period_kind, period));
                """
            )

    def is_empty(self) -> bool:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0] == 0

    def authenticate(self, api_key: str) -> Optional[Account]:
        """The account whose key this is; the stored hash is compared in constant time."""
        key_hash = hash_key(api_key)
        with self._lock:
            row = self._db.execute(
                "SELECT username, key_hash, is_admin, quotas FROM accounts WHERE key_hash = ?", (key_hash,)
            ).fetchone()
        if row is None or not hmac.compare_digest(row[1], key_hash):
            return None
        return Account(row[0], bool(row[2]), json.loads(row[3]))

    def get(self, username: str) -> Account:
        with self._lock:
            row = self._db.execute(
                "SELECT username, is_admin, quotas FROM accounts WHERE username = ?", (username,)
            ).fetchone()
        if row is None:
            raise AccountError(f"no account named {username!r}")
        return Account(row[0], bool(row[1]), json.loads(row[2]))

    def create(
        self,
        username: str,
        is_admin: bool = False,
        quotas: Optional[dict[str, Any]] = None,
        api_key: Optional[str] = None,
    ) -> str:
        """Create the account and return its key (the only time the key is seen); a new random key
        unless one is given."""
        checked = _check_quotas(quotas or {})
        api_key = api_key or new_key()
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?)",
                    (username, hash_key(api_key), int(is_admin), json.dumps(checked)),
                )
            except sqlite3.IntegrityError:
                raise AccountError(f"an account named {username!r} exists already") from None
        return api_key

    def update(
        self, username: str, is_admin: Optional[bool] = None, quotas: Optional[dict[str, Any]] = None
    ) -> Account:
        account = self.get(username)
        new_quotas = account.quotas if quotas is None else _check_quotas(quotas)
        new_admin = account.is_admin if is_admin is None else is_admin
        with self._lock:
            self._db.execute(
                "UPDATE accounts SET is_admin = ?, quotas = ? WHERE username = ?",
                (int(new_admin), json.dumps(new_quotas), username),
            )
        return Account(username, new_admin, new_quotas)

    def delete(self, username: str) -> None:
        with self._lock:
            deleted = self._db.execute("DELETE FROM accounts WHERE username = ?", (username,)).rowcount
            self._db.execute("DELETE FROM usage WHERE username = ?", (username,))
        if not deleted:
            raise AccountError(f"no account named {username!r}")

    def rotate_key(self, username: str) -> str:
        api_key = new_key()
        with self._lock:
            changed = self._db.execute(
                "UPDATE accounts SET key_hash = ? WHERE username = ?", (hash_key(api_key), username)
            ).rowcount
        if not changed:
            raise AccountError(f"no account named {username!r}")
        return api_key

    def reserve(self, account: Account, group: str) -> Optional[str]:
        """Charge one call to `group`; None when done, else the name of the exhausted period."""
        limits = account.quotas.get(group, account.quotas.get(ANY_GROUP, {}))
        periods = current_periods()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for kind in PERIODS:
                    limit = limits.get(kind)
                    if limit is not None and self._used(account.username, group, kind, periods[kind]) >= limit:
                        self._db.execute("ROLLBACK")
                        return kind
                for kind in PERIODS:
                    self._add(account.username, group, kind, periods[kind], 1)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return None

    def refund(self, account: Account, group: str) -> None:
        """Give back a reserved call whose model failed (failures are not charged)."""
        periods = current_periods()
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            for kind in PERIODS:
                self._add(account.username, group, kind, periods[kind], -1)
            self._db.execute("COMMIT")

    def usage(self, username: str) -> dict[str, dict[str, int]]:
        """{group: {period kind: calls in the current period}}."""
        periods = current_periods()
        with self._lock:
            rows = self._db.execute(
                "SELECT model_group, period_kind, period, used FROM usage WHERE username = ?", (username,)
            ).fetchall()
        result: dict[str, dict[str, int]] = {}
        for group, kind, period, used in rows:
            if periods.get(kind) == period:
                result.setdefault(group, {})[kind] = used
        return result

    def _used(self, username: str, group: str, kind: str, period: str) -> int:
        row = self._db.execute(
            "SELECT used FROM usage WHERE username = ? AND model_group = ? AND period_kind = ? AND period = ?",
            (username, group, kind, period),
        ).fetchone()
        return row[0] if row else 0

    def _add(self, username: str, group: str, kind: str, period: str, amount: int) -> None:
        self._db.execute(
            "INSERT INTO usage VALUES (?, ?, ?, ?, ?) ON CONFLICT (username, model_group, period_kind, period) "
            "DO UPDATE SET used = used + excluded.used",
            (username, group, kind, period, amount),
        )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _check_quotas(quotas: Any) -> dict[str, dict[str, Optional[int]]]:
    if not isinstance(quotas, dict):
        raise AccountError('quotas must look like {"group": {"daily": 100, "monthly": null, "total": null}}')
    checked: dict[str, dict[str, Optional[int]]] = {}
    for group, limits in quotas.items():
        if not isinstance(limits, dict) or set(limits) - set(PERIODS):
            raise AccountError(f"the quotas of group {group!r} may only name {', '.join(PERIODS)}")
        for kind, limit in limits.items():
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
                raise AccountError(f"quota {group}.{kind} must be a whole number >= 0 or null, not {limit!r}")
        checked[str(group)] = {kind: limits.get(kind) for kind in PERIODS if kind in limits}
    return checked
