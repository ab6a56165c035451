"""The simple model, counting its real calls: one line per call (the request's hash) appended to a
file that outlives the process, so a test can tell which requests were paid for, across kills.

It reports its latency as the request time, so that two independent runs (two caches) give
byte-identical stats; real clients report measured time, identical only when served from one cache.
"""

import dataclasses
import hashlib
import json
import os
from typing import Any

from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.states import Request, RequestResult


def request_hash(request: dict[str, Any]) -> str:
    """The same for a Request's fields, a cache key's "request" and scenario_state.jsonl's "request"
    (a generation request's cache key leaves out `continuation`, which is None: see models/cache.py)."""
    request = {"continuation": None, **request}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:20]


class CountingClient(SimpleClient):
    def __init__(self, calls_file: str, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.calls_file = calls_file

    def make_request(self, request: Request) -> RequestResult:
        result = super().make_request(request)
        # One write of one short line to a file opened for appending: whole even if killed next.
        descriptor = os.open(self.calls_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(descriptor, (request_hash(dataclasses.asdict(request)) + "\n").encode())
        finally:
            os.close(descriptor)
        return dataclasses.replace(result, request_time=self.latency)
