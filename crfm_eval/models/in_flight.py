"""One upstream call per cache key at a time, within a process.

Two threads that ask for the same request (the same cache key) while the first is still waiting
for the model would both pay for it: the cache only holds finished results. The second caller
waits for the first's result instead. Across processes nothing is shared in flight: a job that
finds the result in the cache does not call, but two jobs asking the very same request at the
very same moment both call (see README, "Sweeps").
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

T = TypeVar("T")


class InFlight(Generic[T]):
    """Runs `compute` once for concurrent callers of one key; later callers share the result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Future[T]] = {}

    def run(self, key: str, compute: Callable[[], T]) -> tuple[T, bool]:
        """The result for `key`, and whether it was shared from another caller's call."""
        with self._lock:
            future = self._running.get(key)
            leader = future is None
            if leader:
                future = self._running[key] = Future()
        assert future is not None
        if not leader:
            return future.result(), True
        try:
            result = compute()
        except BaseException as error:
            future.set_exception(error)
            raise
        else:
            future.set_result(result)
            return result, False
        finally:
            with self._lock:
                del self._running[key]
