"""Progress of long work that does not garble Hydra's log output.

On a terminal: a tqdm bar, with log records routed through tqdm so they print above the bar.
Elsewhere (CI, a log file, a cluster job): a log line every `LOG_EVERY_SECONDS` instead of a bar.
"""

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any, Optional

# tqdm is imported only when a bar is shown: its logging helper pulls in asyncio (~70 ms of start-up).

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 15.0


class Progress:
    def __init__(self, total: Optional[int], description: str, enabled: bool) -> None:
        """`total` None: not known in advance (a bar then counts up, the log lines say how many so far)."""
        self.total = total
        self.description = description
        self.done = 0
        self._bar: Any = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=description, unit="req")
        self._log_lines = enabled and self._bar is None
        self._last_log = time.monotonic()

    def advance(self) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(1)
        elif self._log_lines and (time.monotonic() - self._last_log >= LOG_EVERY_SECONDS or self.done == self.total):
            self._last_log = time.monotonic()
            log.info("%s: %d/%s", self.description, self.done, "?" if self.total is None else self.total)

    @property
    def shows_bar(self) -> bool:
        return self._bar is not None

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


@contextlib.contextmanager
def progress(total: Optional[int], description: str, enabled: bool = True) -> Iterator[Progress]:
    tracker = Progress(total, description, enabled)
    try:
        if tracker.shows_bar:
            from tqdm.contrib.logging import logging_redirect_tqdm

            with logging_redirect_tqdm():
                yield tracker
        else:
            yield tracker
    finally:
        tracker.close()
