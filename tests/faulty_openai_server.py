"""An OpenAI-compatible completions server on 127.0.0.1 that answers with the simple model and
injects faults: 429, 500, 503, hanging past the client's timeout, and 200s with garbage bodies.

Whether an attempt fails, and how, depends only on the prompt and on how many times that prompt was
asked before (seeded), never on thread timing: a run sees the same faults every time.
"""

import hashlib
import json
import random
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

from local_http import QuietHandler, serving

from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.states import Request

FAULTS = ("429", "500", "503", "hang", "garbage_html", "garbage_json", "garbage_shape")


@dataclass
class FaultPlan:
    rate: float = 0.3
    seed: int = 0
    hang_seconds: float = 1.5
    attempts: Counter = field(default_factory=Counter)
    injected: Counter = field(default_factory=Counter)
    answered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault_for(self, prompt: str) -> Optional[str]:
        with self.lock:
            attempt = self.attempts[prompt]
            self.attempts[prompt] += 1
        rng = random.Random(hashlib.sha256(f"{self.seed}|{attempt}|{prompt}".encode()).digest())
        fault = rng.choice(FAULTS) if rng.random() < self.rate else None
        with self.lock:
            if fault:
                self.injected[fault] += 1
            else:
                self.answered += 1
        return fault


def completion_body(body: dict[str, Any]) -> dict[str, Any]:
    """The simple model's answer in OpenAI's completions format."""
    request = Request(
        model=body["model"],
        prompt=body["prompt"],
        temperature=body.get("temperature", 1.0),
        max_tokens=body.get("max_tokens", 16),
        stop_sequences=body.get("stop") or [],
        top_k_per_token=body.get("logprobs") or 0,
        seed=body.get("seed"),
    )
    completion = SimpleClient().make_request(request).completions[0]
    return {
        "id": "cmpl-simple",
        "object": "text_completion",
        "created": 0,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "text": completion.text,
                "finish_reason": completion.finish_reason,
                "logprobs": {
                    "tokens": [token.text for token in completion.tokens],
                    "token_logprobs": [token.logprob for token in completion.tokens],
                    "top_logprobs": [token.top_logprobs for token in completion.tokens],
                    "text_offset": [0] * len(completion.tokens),
                },
            }
        ],
    }


@contextmanager
def faulty_openai_server(plan: FaultPlan) -> Iterator[str]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            fault = plan.fault_for(body["prompt"])
            if fault == "hang":
                time.sleep(plan.hang_seconds)  # the client has given up by now
                self.close_connection = True
                return
            status, content_type, payload = {
                "429": (429, "application/json", b'{"error": {"message": "slow down"}}'),
                "500": (500, "application/json", b'{"error": {"message": "internal"}}'),
                "503": (503, "text/html", b"<html>Service Unavailable</html>"),
                "garbage_html": (200, "text/html", b"<html><body>Bad gateway</body></html>"),
                "garbage_json": (200, "application/json", b'{"choices": [{"text": "cut sh'),
                "garbage_shape": (200, "application/json", b'{"choices": [{"index": 0, "text": null}]}'),
            }.get(fault or "", (200, "application/json", json.dumps(completion_body(body)).encode()))
            self.send_body(status, payload, content_type, {"Retry-After": "0.1"} if status in (429, 503) else {})

    with serving(Handler) as url:
        yield url + "/v1"
