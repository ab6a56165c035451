"""A small HTTP server on 127.0.0.1 for provider APIs out of reach: it records each request and
answers from a script (status, headers, JSON body or raw bytes), the last answer repeating."""

import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from local_http import QuietHandler, serving


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    time: float


@dataclass
class Script:
    answers: list[tuple[int, dict[str, str], Any]]
    seen: list[Recorded] = field(default_factory=list)

    def answer_for(self, index: int) -> tuple[int, dict[str, str], Any]:
        return self.answers[min(index, len(self.answers) - 1)]


@contextmanager
def scripted_server(script: Script, body_for: Callable[[Recorded, Any], Any] | None = None) -> Iterator[str]:
    """Serve `script`; `body_for(request, None)` builds the answer of a 200 scripted with no body."""

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            recorded = Recorded("POST", self.path, dict(self.headers), json.loads(raw or b"null"), time.monotonic())
            status, headers, body = script.answer_for(len(script.seen))
            script.seen.append(recorded)
            if body_for is not None and status == 200 and body is None:
                body = body_for(recorded, body)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_body(status, payload, "application/json", headers)

    with serving(Handler) as url:
        yield url
