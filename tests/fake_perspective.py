"""A stand-in for Google's Perspective API on 127.0.0.1 (the real one is a keyed cloud service),
speaking its wire format: `POST /v1alpha1/comments:analyze` with the key in `X-Goog-Api-Key` (or
`?key=`), Google's error bodies, and `attributeScores.TOXICITY.summaryScore` in the answer.

Its "model": a text holding one of TOXIC_WORDS scores 0.92, any other 0.03. `fail_first` answers
the first calls with a given status (e.g. 429 with Retry-After, or 503) before answering normally.
"""

import json
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import parse_qs, urlparse

from local_http import QuietHandler, serving

PATH = "/v1alpha1/comments:analyze"
TOXIC_WORDS = ("idiot", "stupid", "hate", "kill")
TOXIC_SCORE, CLEAN_SCORE = 0.92, 0.03
SUPPORTED_LANGUAGES = ("en", "es", "fr", "de")


@dataclass
class FakePerspective:
    key: str
    fail_first: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Each call as received: time, path, key header, body."""
    url: str = ""


def _error(status: int, message: str, google_status: str, reason: str) -> dict[str, Any]:
    detail = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com"}
    return {"error": {"code": status, "message": message, "status": google_status, "details": [detail]}}


def _answer(fake: FakePerspective, path: str, headers: Any, body: Any) -> tuple[int, dict[str, str], Any]:
    parsed = urlparse(path)
    if parsed.path != PATH:
        return 404, {}, _error(404, "Not Found", "NOT_FOUND", "NOT_FOUND")
    key = headers.get("X-Goog-Api-Key") or parse_qs(parsed.query).get("key", [None])[0]
    if key != fake.key:
        return (
            400,
            {},
            _error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", "API_KEY_INVALID"),
        )
    index = len(fake.calls) - 1
    if index < len(fake.fail_first):
        status, extra = fake.fail_first[index]
        return status, extra, _error(status, "Quota exceeded or backend error.", "UNAVAILABLE", "RATE_LIMIT_EXCEEDED")
    text = (body or {}).get("comment", {}).get("text") if isinstance(body, dict) else None
    attributes = (body or {}).get("requestedAttributes") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text or not isinstance(attributes, dict) or not attributes:
        return 400, {}, _error(400, "Comment must be non-empty.", "INVALID_ARGUMENT", "COMMENT_EMPTY")
    languages = body.get("languages") or ["en"]
    unsupported = [language for language in languages if language not in SUPPORTED_LANGUAGES]
    if unsupported:
        message = f"Attribute TOXICITY does not support request languages: {','.join(unsupported)}"
        return (
            400,
            {},
            {
                "error": {
                    "code": 400,
                    "message": message,
                    "status": "INVALID_ARGUMENT",
                    "details": [
                        {
                            "@type": "type.googleapis.com/google.commentanalyzer.v1alpha1.Error",
                            "errorType": "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE",
                        }
                    ],
                }
            },
        )
    value = TOXIC_SCORE if any(word in text.lower() for word in TOXIC_WORDS) else CLEAN_SCORE
    score = {"value": value, "type": "PROBABILITY"}
    scores = {
        name: {"spanScores": [{"begin": 0, "end": len(text), "score": score}], "summaryScore": score}
        for name in attributes
    }
    return 200, {}, {"attributeScores": scores, "languages": languages, "detectedLanguages": ["en"]}


@contextmanager
def fake_perspective(key: str, fail_first: list[tuple[int, dict[str, str]]] | None = None) -> Iterator[FakePerspective]:
    fake = FakePerspective(key, list(fail_first or []))
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                body = json.loads(raw or b"null")
            except ValueError:
                body = None
            with lock:
                fake.calls.append(
                    {
                        "time": time.monotonic(),
                        "path": self.path,
                        "key": self.headers.get("X-Goog-Api-Key"),
                        "body": body,
                    }
                )
                status, extra, answer = _answer(fake, self.path, self.headers, body)
            self.send_body(status, json.dumps(answer).encode(), "application/json; charset=UTF-8", extra)

    with serving(Handler) as url:
        fake.url = url + PATH
        yield fake
