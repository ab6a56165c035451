"""The access log: one line per request in the common log format, plus the latency.

    127.0.0.1 - alice [05/Nov/2026:14:03:59 +0000] "POST /api/request HTTP/1.1" 200 1187 2.41

Fields: client address, `-`, the account that made the request (never its key; `-` when none was
authenticated), the time (UTC), the request line *without its query string*, the status, the
body's bytes (`-` when unknown) and the milliseconds the proxy took to produce the answer. Keys
travel only in the Authorization header, which is never written; anything in a URL that is
registered as a secret is redacted by `crfm_eval.redaction` like every other log record. Lines go
through `logging` (logger `crfm_eval.proxy.access`), so each is one write: worker processes can
share the file, and `WatchedFileHandler` reopens it after logrotate moves it.
"""

import logging
import logging.handlers
import sys
import time
from typing import Any, Callable, Iterable, Optional
from urllib.parse import quote

from crfm_eval.proxy.server import USERNAME_ENVIRON_KEY

ACCESS_LOGGER = "crfm_eval.proxy.access"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SAFE_IN_PATH = "/:@!$&'()*+,;=-._~"

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def open_access_log(destination: str) -> logging.Logger:
    """`-`: standard error (journald under systemd); a path: that file, appended to; `off`: nothing."""
    logger = logging.getLogger(ACCESS_LOGGER)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    if destination == "off":
        logger.disabled = True
        return logger
    logger.disabled = False
    handler: logging.Handler
    if destination == "-":
        handler = logging.StreamHandler(sys.stderr)
    else:
        handler = logging.handlers.WatchedFileHandler(destination, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    return logger


def _clf_time(now: float) -> str:
    t = time.gmtime(now)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _printable(text: str, safe: str = _SAFE_IN_PATH) -> str:
    """Percent-escapes anything that could break the line (spaces, quotes, control characters)."""
    return quote(text.encode("latin-1", "replace"), safe=safe)


class AccessLog:
    """WSGI middleware that writes the access log line of every request it passes on."""

    def __init__(self, app: WsgiApp, logger: Optional[logging.Logger] = None) -> None:
        self.app = app
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.logger.disabled:
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
        self.logger.info(
            '%s - %s [%s] "%s" %s %s %.2f',
            environ.get("REMOTE_ADDR", "-"),
            _printable(user, "@.+-_") if user else "-",
            _clf_time(time.time()),
            request_line,
            answer.get("status", "-"),
            size,
            milliseconds,
        )
        return body
