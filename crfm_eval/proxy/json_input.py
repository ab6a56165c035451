"""Reading a request body into a JSON object, refusing at the edge whatever could fail later.

Everything that used to reach the code behind as a crash (a 500 for the caller, or worse, a failure
surfacing in *another* request) is refused here with a status and one sentence: a missing, negative
or oversized Content-Length, an empty body, bytes that are not UTF-8 JSON, NaN and Infinity,
integers too long for Python to parse, nesting deeper than any valid body, and text that UTF-8
cannot hold (lone surrogates such as "\\ud800", which JSON escapes can carry but no file, database
or upstream API accepts). The error names the field, e.g. `request.prompt`.
"""

import json
from typing import Any, BinaryIO, NoReturn

from crfm_eval.proxy.limits import Limits


class BadInput(Exception):
    """An input the proxy refuses: the HTTP status and one sentence for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def refuse(status: int, message: str) -> NoReturn:
    raise BadInput(status, message)


def read_body(environ: dict[str, Any], limits: Limits) -> bytes:
    """The body's bytes: never more than `max_body_bytes` are read."""
    declared = environ.get("CONTENT_LENGTH") or ""
    stream: BinaryIO = environ["wsgi.input"]
    if declared:
        if not (declared.isascii() and declared.isdigit()):  # "-5", "1e3", " 12", "0x10"
            refuse(400, f"the Content-Length header must be a whole number of bytes, not {declared[:40]!r}")
        if len(declared) > 18 or int(declared) > limits.max_body_bytes:
            refuse(413, f"the body is larger than {limits.max_body_bytes} bytes")
        length = int(declared)
        return stream.read(length) if length else b""
    if "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        return b""
    # Chunked upload (no length given): the server decodes it; read one byte past the limit to tell.
    raw = stream.read(limits.max_body_bytes + 1)
    if len(raw) > limits.max_body_bytes:
        refuse(413, f"the body is larger than {limits.max_body_bytes} bytes")
    return raw


def _no_constants(name: str) -> NoReturn:
    refuse(400, f"the body holds {name}, which is not a JSON number")


def parse_object(raw: bytes, limits: Limits) -> dict[str, Any]:
    """A JSON object whose every string is valid text and whose nesting is bounded."""
    if not raw.strip():
        refuse(400, "the body is empty; send a JSON object")
    try:
        data = json.loads(raw, parse_constant=_no_constants)
    except RecursionError:
        refuse(400, f"the body nests arrays or objects deeper than {limits.max_json_depth} levels")
    except json.JSONDecodeError as error:
        refuse(400, f"the body is not JSON ({error})")
    except UnicodeDecodeError:
        refuse(400, "the body is not UTF-8 text")
    except ValueError as error:  # e.g. an integer of more than 4,300 digits
        refuse(400, f"the body holds a number Python will not read ({str(error).split(';')[0]})")
    if not isinstance(data, dict):
        refuse(400, "the body must be a JSON object")
    check_values(data, limits)
    return data


def check_values(data: Any, limits: Limits, root: str = "") -> None:
    """Bounded depth, and text UTF-8 can hold in every key and string (walked without recursion)."""
    pending: list[tuple[Any, str, int]] = [(data, root, 1)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, str):
            check_text(value, path or "the body")
        elif isinstance(value, (dict, list)):
            if depth > limits.max_json_depth:
                refuse(400, f"the body nests arrays or objects deeper than {limits.max_json_depth} levels")
            if isinstance(value, dict):
                for key, item in value.items():
                    field = f"{path}.{key}" if path else key
                    check_text(key, f"a key of {path or 'the body'}")
                    pending.append((item, field, depth + 1))
            else:
                pending.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))


def check_text(text: str, field: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        refuse(
            400,
            f"{field.encode('utf-8', 'backslashreplace').decode()} holds text that is not valid Unicode "
            f"(a lone surrogate, {text[error.start]!a}, at character {error.start})",
        )
