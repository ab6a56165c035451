"""One sqlite file written by many processes at once: the jobs of a sweep share each model's cache.

Measured with `python bench/cache_concurrency.py` (sqlitedict 2.1.0, SQLite in WAL mode):

- sqlitedict's `timeout` argument is not a lock wait (it is documented as a thread start-up
  timeout and is not passed on); its connection waits for a lock with Python's default of 5 s, then
  the write fails with "database is locked". A process that holds the write lock longer (stopped
  with Ctrl-Z, a slow disk, a long transaction) makes every other job lose its puts.
- Turning a new file into WAL needs an exclusive lock, and SQLite reports "database is locked" at
  once, without waiting, when another process has the file open: several jobs opening a fresh cache
  together fail now and then (measured: about 1 open in 6 with 4 processes).

So a file is prepared (WAL, table) once, by one process at a time, under an exclusive lock on a
sidecar `.lock` file (the `filelock` library: flock on POSIX, LockFileEx on Windows); every handle then opens an already-WAL file, in the same journal mode, and
waits for locks up to LOCK_WAIT_SECONDS; a lock error that still gets through is retried until
GIVE_UP_SECONDS. WAL needs every process on one machine (shared memory): on a cluster, give each
node its own `execution.cache_dir` or share one cache through the proxy, never over NFS.
"""

import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from filelock import FileLock

from crfm_eval.errors import UserError

log = logging.getLogger(__name__)

T = TypeVar("T")

JOURNAL_MODE = "WAL"
"""Every handle opens the file in the same journal mode; WAL lets readers work while one writes."""

LOCK_WAIT_SECONDS = 60.0
"""How long one statement waits for another process's lock (SQLite's busy timeout)."""

GIVE_UP_SECONDS = 600.0
"""How long lock errors are retried before the run stops with a message naming the file."""


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock held by one process at a time (the OS releases it if the process dies)."""
    # A new FileLock object (own file handle) per call: threads of one process exclude each other too.
    with FileLock(str(path)):
        yield


def prepare(path: Path, table: str) -> None:
    """Create `path` in WAL mode with sqlitedict's table layout, once, whoever comes first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(path.with_name(path.name + ".lock")):
        connection = sqlite3.connect(str(path), timeout=LOCK_WAIT_SECONDS)
        try:
            mode = connection.execute(f"PRAGMA journal_mode = {JOURNAL_MODE}").fetchone()[0]
            if mode.upper() != JOURNAL_MODE:
                raise UserError(
                    f"The cache {path} cannot use {JOURNAL_MODE} mode ({mode}); put execution.cache_dir on a local disk."
                )
            # The statement sqlitedict runs itself: on an existing table it is a no-op and takes no write lock.
            connection.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (key TEXT PRIMARY KEY, value BLOB)')
            connection.commit()
        finally:
            connection.close()


def is_lock_error(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and ("locked" in str(error) or "busy" in str(error))


def retry_while_locked(action: Callable[[], T], path: Path) -> T:
    """`action()`, retried while another process keeps `path` locked, up to GIVE_UP_SECONDS."""
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while True:
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not is_lock_error(error):
                raise
            if time.monotonic() > deadline:
                raise UserError(
                    f"The cache {path} stayed locked by another process for over {GIVE_UP_SECONDS:.0f} s; "
                    "stop the process that holds it (or use another execution.cache_dir) and rerun the same command."
                ) from error
            log.warning("The cache %s is locked by another process; retrying.", path)
            time.sleep(0.1)
