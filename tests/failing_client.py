"""A client that fails while a marker file exists: a stand-in for an outage, to test that failures
are reported, never cached, and retried on the next run."""

from pathlib import Path

from crfm_eval.models.clients.client import ClientError
from crfm_eval.models.clients.simple import SimpleClient
from crfm_eval.states import Request, RequestResult


class OutageClient(SimpleClient):
    def __init__(self, outage_file: str, fail_every: int = 2, latency: float = 0.0) -> None:
        super().__init__(latency)
        self.outage_file = Path(outage_file)
        self.fail_every = fail_every
        self.calls = 0

    def make_request(self, request: Request) -> RequestResult:
        self.calls += 1
        if self.outage_file.exists() and len(request.prompt) % self.fail_every == 0:
            raise ClientError("upstream unavailable")
        return super().make_request(request)
