"""Secrets (API keys, account keys) never reach a log line: every log record is redacted.

A LogRecord factory is the one hook that sees every record of every logger, including the ones
Hydra's launchers emit and handlers it installs later, so secrets registered here are replaced by
`***` wherever they would have been printed.
"""

import logging
import threading

REDACTED = "***"
MIN_SECRET_LENGTH = 6
"""Shorter strings are not treated as secrets: redacting them would garble ordinary text."""

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def register_secret(secret: str | None) -> None:
    """Redact `secret` from every log record from now on."""
    global _installed
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(secret)
        if not _installed:
            _install()
            _installed = True


def _install() -> None:
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return record

    logging.setLogRecordFactory(redacting_record)
