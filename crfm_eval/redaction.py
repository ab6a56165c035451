"""Secrets (API keys, account keys) never reach a file or the terminal.

Four doors, each closed here:
- log records: a LogRecord factory is the one hook that sees every record of every logger, including
  the ones Hydra's launchers emit and handlers it installs later. It redacts the message and formats
  the traceback at once (a record's `exc_text` is empty until a handler formats it, and would escape);
- the terminal: `protect_terminal` wraps stdout and stderr, so nothing printed (Hydra's `--cfg job
  --resolve`, its tracebacks, progress bars) shows a registered secret;
- the command line: `hide_command_line_secrets` moves a key given as `execution.api_key=...` into an
  environment variable and leaves `${oc.env:...}` in its place, so Hydra's records of the overrides
  (a sweep's multirun.yaml, `--cfg job`, the sweep's job lines) hold the reference, never the key;
- results: model errors are redacted where a RequestResult is made (`models/service.py`).

Secrets are replaced by `***` wherever they would have appeared.
"""

import logging
import os
import re
import sys
import threading
from typing import Any, TextIO

REDACTED = "***"
MIN_SECRET_LENGTH = 6
"""Shorter strings are not treated as secrets: redacting them would garble ordinary text."""

SECRET_VARIABLES = ("CRFM_EVAL_API_KEY", "CRFM_EVAL_ADMIN_KEY", "OPENAI_API_KEY", "AI21_API_KEY")
"""Environment variables that hold keys (the proxy account's, the proxy admin's, the providers')."""

COMMAND_LINE_SECRET_PREFIX = "CRFM_EVAL_COMMAND_LINE_SECRET_"
"""Environment variables that carry the keys given on the command line (to this process and its jobs)."""

_SECRET_OVERRIDE = re.compile(
    r"^(?P<plus>\+{0,2})(?P<key>(?:[\w-]+\.)*(?:[\w-]*_)?(?:api_key|secret|password))=(?P<value>.*)$"
)
"""An override that sets a secret: the last part of its key is `api_key`, `secret`, `password` (or ends in `_` + one)."""

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


def register_secret(secret: str | None) -> None:
    """Redact `secret` from every log record and terminal line from now on."""
    global _installed
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    with _lock:
        _secrets.add(secret)
        if not _installed:
            _install_record_factory()
            _installed = True


def register_environment_secrets() -> None:
    """Register the keys held by the environment variables that carry keys."""
    for name, value in os.environ.items():
        if name in SECRET_VARIABLES or name.startswith(COMMAND_LINE_SECRET_PREFIX):
            register_secret(value)


def hide_command_line_secrets(arguments: list[str]) -> list[str]:
    """`arguments` with each secret value moved to an environment variable and referenced as `${oc.env:...}`."""
    hidden = []
    for argument in arguments:
        match = _SECRET_OVERRIDE.match(argument)
        value = match.group("value") if match else ""
        if not match or not value or value.startswith("${"):
            hidden.append(argument)
            continue
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]  # Hydra's quoting
        variable = f"{COMMAND_LINE_SECRET_PREFIX}{len(hidden)}"
        os.environ[variable] = value
        register_secret(value)
        hidden.append(f"{match.group('plus')}{match.group('key')}=${{oc.env:{variable}}}")
    return hidden


def _install_record_factory() -> None:
    make_record = logging.getLogRecordFactory()
    formatter = logging.Formatter()

    def redacting_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        message = redact(record.getMessage())
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            # Formatted now, so that it is redacted now; handlers reuse exc_text as it is.
            record.exc_text = formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(redacting_record)


class RedactingStream:
    """A text stream that writes through to another with every registered secret replaced.

    A secret split over two `write` calls would pass; print, logging and tqdm write whole strings."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def protect_terminal() -> None:
    """Wrap sys.stdout and sys.stderr (once) so that no registered secret is printed."""
    if not isinstance(sys.stdout, RedactingStream):
        sys.stdout = RedactingStream(sys.stdout)
    if not isinstance(sys.stderr, RedactingStream):
        sys.stderr = RedactingStream(sys.stderr)
