"""Proxy accounts: API keys (stored as hashes), quotas per model group, and usage, in one sqlite file
that every worker process of the proxy shares.

A model call is charged in two steps. Before the call its worst case (one request; the prompt's
tokens plus `num_completions` x `max_tokens`) is reserved in every period of its group, in one
IMMEDIATE transaction that first checks every limit. sqlite's write lock serializes those
transactions across threads *and processes*, so concurrent callers on any worker can never spend
more than a quota. After the call the reservation is settled: down to the tokens really used, or
to nothing when the model failed or another caller's identical call answered it (only calls not
served from the cache are charged).
"""

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from crfm_eval.models.shared_sqlite import LOCK_WAIT_SECONDS, file_lock
from crfm_eval.proxy.quotas import PERIODS, UNITS, Charge, Quotas, current_periods, group_limits, read_stored

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    username TEXT PRIMARY KEY, key_hash TEXT UNIQUE NOT NULL, is_admin INTEGER NOT NULL, quotas TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    username TEXT NOT NULL, model_group TEXT NOT NULL, unit TEXT NOT NULL, period_kind TEXT NOT NULL,
    period TEXT NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (username, model_group, unit, period_kind, period));
"""
# Usage before token quotas counted requests only, without a unit column.
MIGRATE_REQUEST_ONLY_USAGE = """
ALTER TABLE usage RENAME TO usage_requests_only;
CREATE TABLE usage (
    username TEXT NOT NULL, model_group TEXT NOT NULL, unit TEXT NOT NULL, period_kind TEXT NOT NULL,
    period TEXT NOT NULL, used INTEGER NOT NULL,
    PRIMARY KEY (username, model_group, unit, period_kind, period));
INSERT INTO usage SELECT username, model_group, 'requests', period_kind, period, used FROM usage_requests_only;
DROP TABLE usage_requests_only;
"""


def hash_key(api_key: str) -> str:
    """Keys are random 256-bit strings, so one SHA-256 round is enough to keep them unrecoverable."""
    return hashlib.sha256(api_key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Account:
    username: str
    is_admin: bool
    quotas: Quotas = field(default_factory=dict)


@dataclass(frozen=True)
class Reservation:
    """A charge made before a model call, to settle after it (in the periods it was made in)."""

    username: str
    group: str
    periods: dict[str, str]
    charge: Charge


class AccountError(Exception):
    """A request about accounts that cannot be done (unknown or duplicate user)."""


class LastAdminError(AccountError):
    """The change would leave the proxy without an admin."""


class QuotaExceeded(Exception):
    """The call would take an account past one of its quotas."""


class Accounts:
    """The account store. Each thread has its own connection; every process opens the same file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        with file_lock(path.with_name(path.name + ".lock")):  # one process sets the file up
            db = self._db()
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            columns = [row[1] for row in db.execute("PRAGMA table_info(usage)")]
            if "unit" not in columns:
                db.executescript(f"BEGIN IMMEDIATE; {MIGRATE_REQUEST_ONLY_USAGE} COMMIT;")

    def _db(self) -> sqlite3.Connection:
        connection: Optional[sqlite3.Connection] = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                str(self.path), timeout=LOCK_WAIT_SECONDS, isolation_level=None, check_same_thread=False
            )
            # WAL with NORMAL sync: a commit survives the proxy's crash, and only a power loss can lose
            # the last commits; without it every charge waits for two fsyncs (reserve and settle).
            connection.execute("PRAGMA synchronous=NORMAL")
            with self._connections_lock:
                self._connections.append(connection)
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: it holds the file's write lock (across processes) from its start."""
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def is_empty(self) -> bool:
        return self._db().execute("SELECT COUNT(*) FROM accounts").fetchone()[0] == 0

    def authenticate(self, api_key: str) -> Optional[Account]:
        """The account whose key this is; the stored hash is compared in constant time."""
        key_hash = hash_key(api_key)
        row = (
            self._db()
            .execute("SELECT username, key_hash, is_admin, quotas FROM accounts WHERE key_hash = ?", (key_hash,))
            .fetchone()
        )
        if row is None or not hmac.compare_digest(row[1], key_hash):
            return None
        return Account(row[0], bool(row[2]), read_stored(json.loads(row[3])))

    def get(self, username: str) -> Account:
        row = (
            self._db()
            .execute("SELECT username, is_admin, quotas FROM accounts WHERE username = ?", (username,))
            .fetchone()
        )
        if row is None:
            raise AccountError(f"no account named {username!r}")
        return Account(row[0], bool(row[1]), read_stored(json.loads(row[2])))

    def create(
        self, username: str, is_admin: bool = False, quotas: Optional[Quotas] = None, api_key: Optional[str] = None
    ) -> str:
        """Create the account (quotas already checked) and return its key, the only time it is seen;
        a new random key unless one is given."""
        api_key = api_key or new_key()
        try:
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO accounts VALUES (?, ?, ?, ?)",
                    (username, hash_key(api_key), int(is_admin), json.dumps(quotas or {})),
                )
        except sqlite3.IntegrityError:
            raise AccountError(f"an account named {username!r} exists already") from None
        return api_key

    def update(self, username: str, is_admin: Optional[bool] = None, quotas: Optional[Quotas] = None) -> Account:
        with self._transaction() as db:
            account = self.get(username)
            if account.is_admin and is_admin is False:
                self._keep_an_admin(db, username, "lose its admin right")
            new_quotas = account.quotas if quotas is None else quotas
            new_admin = account.is_admin if is_admin is None else is_admin
            db.execute(
                "UPDATE accounts SET is_admin = ?, quotas = ? WHERE username = ?",
                (int(new_admin), json.dumps(new_quotas), username),
            )
        return Account(username, new_admin, new_quotas)

    def delete(self, username: str) -> None:
        with self._transaction() as db:
            account = self.get(username)
            if account.is_admin:
                self._keep_an_admin(db, username, "be deleted")
            db.execute("DELETE FROM accounts WHERE username = ?", (username,))
            db.execute("DELETE FROM usage WHERE username = ?", (username,))

    def _keep_an_admin(self, db: sqlite3.Connection, username: str, change: str) -> None:
        others = db.execute("SELECT COUNT(*) FROM accounts WHERE is_admin = 1 AND username != ?", (username,))
        if others.fetchone()[0] == 0:
            raise LastAdminError(
                f"{username!r} is the last admin and cannot {change}; make another account admin first"
            )

    def rotate_key(self, username: str) -> str:
        api_key = new_key()
        with self._transaction() as db:
            changed = db.execute(
                "UPDATE accounts SET key_hash = ? WHERE username = ?", (hash_key(api_key), username)
            ).rowcount
        if not changed:
            raise AccountError(f"no account named {username!r}")
        return api_key

    def reserve(self, account: Account, group: str, charge: Charge) -> Reservation:
        """Charge `charge` to `group` in every period, or raise QuotaExceeded and charge nothing."""
        limits = group_limits(account.quotas, group)
        periods = current_periods()
        with self._transaction() as db:
            for unit in UNITS:
                for kind in PERIODS:
                    limit = limits.get(unit, {}).get(kind)
                    if limit is None:
                        continue
                    used = self._used(db, account.username, group, unit, kind, periods[kind])
                    if used + charge.amount(unit) > limit:
                        needs = "1 more request" if unit == "requests" else f"up to {charge.tokens} more tokens"
                        raise QuotaExceeded(
                            f"the {kind} quota of {limit} {unit} for model group {group!r} is used up "
                            f"({used} used; this call needs {needs})"
                        )
            for unit in UNITS:
                for kind in PERIODS:
                    self._add(db, account.username, group, unit, kind, periods[kind], charge.amount(unit))
        return Reservation(account.username, group, periods, charge)

    def settle(self, reservation: Reservation, actual: Charge) -> None:
        """Replace the reserved charge by what the call really cost (nothing, when it failed)."""
        with self._transaction() as db:
            for unit in UNITS:
                delta = actual.amount(unit) - reservation.charge.amount(unit)
                if delta:
                    for kind in PERIODS:
                        self._add(
                            db, reservation.username, reservation.group, unit, kind, reservation.periods[kind], delta
                        )

    def usage(self, username: str) -> dict[str, dict[str, dict[str, int]]]:
        """{group: {unit: {period kind: use in the current period}}}."""
        periods = current_periods()
        rows = self._db().execute(
            "SELECT model_group, unit, period_kind, period, used FROM usage WHERE username = ?", (username,)
        )
        result: dict[str, dict[str, dict[str, int]]] = {}
        for group, unit, kind, period, used in rows.fetchall():
            if periods.get(kind) == period:
                result.setdefault(group, {}).setdefault(unit, {})[kind] = used
        return result

    @staticmethod
    def _used(db: sqlite3.Connection, username: str, group: str, unit: str, kind: str, period: str) -> int:
        row = db.execute(
            "SELECT used FROM usage WHERE username = ? AND model_group = ? AND unit = ? AND period_kind = ? "
            "AND period = ?",
            (username, group, unit, kind, period),
        ).fetchone()
        return row[0] if row else 0

    @staticmethod
    def _add(db: sqlite3.Connection, username: str, group: str, unit: str, kind: str, period: str, amount: int) -> None:
        db.execute(
            "INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (username, model_group, unit, period_kind, period) DO UPDATE SET used = used + excluded.used",
            (username, group, unit, kind, period, amount),
        )

    def close(self) -> None:
        with self._connections_lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
