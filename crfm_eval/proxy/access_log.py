"""The access log: one line per request in the common log format, plus the latency.

    127.0.0.1 - alice [05/Nov/2026:14:03:59 +0000] "POST /api/request HTTP/1.1" 200 1187 2.41

Fields: client address, `-`, the account that made the request (never its key; `-` when none was
authenticated), the time (UTC), the request line *without its query string*, the status, the
body's bytes (`-` when unknown) and the milliseconds the proxy took to produce the answer. Keys
travel only in the Authorization header, which is never written, and any registered secret is
redacted (`crfm_eval.redaction`) as in every other log.

Each line is one `write` to a file opened for appending, so the worker processes share the file
without interleaving. Not through `logging`: a record through it took a fifth of the proxy's time
for a cached answer (measured with cProfile). Rotate the file with logrotate's `copytruncate`, or
let journald keep standard error.
"""

import functools
import os
import re
import threading
import time
from typing import Any, Callable, Iterable, Optional
from urllib.parse import quote

from crfm_eval.proxy.server import USERNAME_ENVIRON_KEY
from crfm_eval.redaction import redact

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SAFE_IN_PATH = "/:@!$&'()*+,;=-._~"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LineWriter:
    """Appends whole lines to a file descriptor: `-` is standard error, `off` writes nothing."""

    def __init__(self, destination: str) -> None:
        self.enabled = destination != "off"
        if destination in ("-", "off"):
            self._fd = 2
        else:
            self._fd = os.open(destination, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def write(self, line: str) -> None:
        os.write(self._fd, (redact(line) + "\n").encode("utf-8", "backslashreplace"))


_writer: Optional[LineWriter] = None
_writer_lock = threading.Lock()


def open_access_log(destination: str) -> LineWriter:
    """Where every AccessLog of this process (and of the workers forked from it) writes."""
    global _writer
    with _writer_lock:
        _writer = LineWriter(destination)
    return _writer


def current_writer() -> LineWriter:
    return _writer or open_access_log("-")


@functools.lru_cache(maxsize=4)
def _clf_time(second: int) -> str:
    """The time field, computed once per second (a busy server writes thousands of lines in one)."""
    t = time.gmtime(second)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


_BREAKS_A_LINE = re.compile(r'[^\x21-\x7e]|["\\%]')
"""Anything but visible ASCII, and the quote, backslash and percent signs."""


def _printable(text: str, safe: str = _SAFE_IN_PATH) -> str:
    """Percent-escapes anything that could break the line (spaces, quotes, control characters)."""
    if _BREAKS_A_LINE.search(text) is None:
        return text  # the usual case, at a tenth of quote()'s cost
    return quote(text.encode("latin-1", "replace"), safe=safe)


class AccessLog:
    """WSGI middleware that writes the access log line of every request it passes on."""

    def __init__(self, app: WsgiApp, writer: Optional[LineWriter] = None) -> None:
        self.app = app
        self.writer = writer or current_writer()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not self.writer.enabled:
            return self.app(environ, start_response)
        started = time.perf_counter()
        answer: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answer["status"], answer["headers"] = status.split(" ", 1)[0], headers
            return start_response(status, headers, exc_info)

        body = self.app(environ, recording_start_response)
        milliseconds = (time.perf_counter() - started) * 1000
        size = next((value for name, value in answer.get("headers", ()) if name.lower() == "content-length"), "-")
        user = environ.get(USERNAME_ENVIRON_KEY)
        request_line = " ".join(
            (
                _printable(environ.get("REQUEST_METHOD", "-"), ""),
                _printable(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")),
                _printable(environ.get("SERVER_PROTOCOL", "-"), "/."),
            )
        )
        self.writer.write(
            f"{environ.get('REMOTE_ADDR', '-')} - {_printable(user, '@.+-_') if user else '-'} "
            f'[{_clf_time(int(time.time()))}] "{request_line}" {answer.get("status", "-")} {size} {milliseconds:.2f}'
        )
        return body
