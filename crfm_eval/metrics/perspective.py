"""Google's Perspective API as a toxicity scorer (Jigsaw; https://perspectiveapi.com).

One `comments:analyze` call per text, with the body
`{"comment": {"text": ...}, "requestedAttributes": {"TOXICITY": {}}, "languages": ["en"], "doNotStore": true}`;
the score is `attributeScores.TOXICITY.summaryScore.value`. The key goes in the `X-Goog-Api-Key`
header (Google's standard alternative to `?key=`), so it is never part of a URL that an error
message or a log could print.

- Rate: Perspective's default quota is 1 query per second. Calls are paced to `requests_per_second`
  across this process's threads (a batch of texts is sent by up to that many threads, each waiting
  for its slot), so a run stays inside the quota instead of living on 429s. Google's batch endpoint
  counts every inner call against the same quota, so it would not be faster.
- Retries: 429, 5xx and timeouts are retried with bounded exponential backoff that honours
  Retry-After, like the model clients (models/clients/retrying.py).
- A text Perspective cannot score (400 INVALID_ARGUMENT, e.g. a language TOXICITY does not support)
  gets no score and is left out of the stats, with a warning; a refused key (400 API_KEY_INVALID,
  401, 403) or failures that outlast the retries stop the run in one sentence; scores already
  obtained are in the cache, so the same command resumes.
"""

import logging
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Optional

import httpx

from crfm_eval.errors import UserError
from crfm_eval.metrics.toxicity_scorers import PERSPECTIVE_URL, ToxicityScorer
from crfm_eval.models.clients.retrying import RetryAfterMemory, call_with_retries
from crfm_eval.models.credentials import Credentials

log = logging.getLogger(__name__)

KEY_NAME, KEY_VARIABLE = "perspective_api_key", "PERSPECTIVE_API_KEY"
ATTRIBUTE = "TOXICITY"
KEY_FIX = f"set {KEY_VARIABLE} or {KEY_NAME} in credentials.yaml (a key from https://perspectiveapi.com)"


def perspective_key(credentials: Optional[Credentials]) -> str:
    key = (credentials or Credentials()).get(KEY_NAME, KEY_VARIABLE)
    if not key:
        raise UserError(f"The Perspective toxicity scorer needs an API key: {KEY_FIX}, or use the offline scorer.")
    return key


class RequestPacer:
    """Spaces calls at least 1/rate seconds apart, across threads (each caller waits for its slot).

    Twelve lines rather than a rate-limiting library: one process, one rate, no buckets to share.
    """

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


class PerspectiveError(Exception):
    def __init__(self, status: int, message: str, reason: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status, self.message, self.reason = status, message, reason


class PerspectiveScorer(ToxicityScorer):
    def __init__(
        self,
        api_key: str,
        url: str = PERSPECTIVE_URL,
        requests_per_second: float = 1.0,
        languages: tuple[str, ...] = ("en",),
        max_retries: int = 4,
        timeout_seconds: float = 30.0,
    ) -> None:
        if not requests_per_second > 0:
            raise UserError(f"The Perspective rate must be above 0 requests per second, not {requests_per_second}.")
        self.url, self.languages, self.max_retries = url, list(languages), max_retries
        self.requests_per_second = requests_per_second
        # One second's worth of calls at a time, so the cache stores scores as they come.
        self.batch_size = max(1, math.ceil(requests_per_second))
        self._pacer = RequestPacer(requests_per_second)
        self._retry_after = RetryAfterMemory()
        self._http = httpx.Client(
            timeout=timeout_seconds,
            headers={"X-Goog-Api-Key": api_key},
            event_hooks={
                "response": [lambda response: self._retry_after.remember(response.headers.get("Retry-After"))]
            },
        )

    def identity(self) -> dict[str, Any]:
        return {"scorer": "perspective", "url": self.url, "attribute": ATTRIBUTE, "languages": self.languages}

    def score(self, texts: list[str]) -> list[Optional[float]]:
        if len(texts) <= 1:
            return [self._score_one(text) for text in texts]
        threads = min(len(texts), max(1, math.ceil(self.requests_per_second)))
        with ThreadPoolExecutor(max_workers=threads) as pool:
            return list(pool.map(self._score_one, texts))

    def _score_one(self, text: str) -> Optional[float]:
        body = {
            "comment": {"text": text},
            "requestedAttributes": {ATTRIBUTE: {}},
            "languages": self.languages,
            "doNotStore": True,
        }

        def call() -> Any:
            self._pacer.wait()
            return self._post(body)

        try:
            answer = call_with_retries(call, _retryable, lambda: self._retry_after.seconds, self.max_retries + 1)
        except PerspectiveError as error:
            if error.status in (401, 403) or error.reason == "API_KEY_INVALID":
                raise UserError(f"Perspective refused the API key ({error}); {KEY_FIX}.") from None
            if error.status == 400:
                log.warning("Perspective cannot score a completion (%s); it is left out of the toxicity stats.", error)
                return None
            raise UserError(
                f"Perspective kept failing ({error}); rerun the same command later: scores so far are cached."
            ) from None
        except httpx.HTTPError as error:
            raise UserError(
                f"Perspective at {self.url} could not be reached ({type(error).__name__}); "
                "rerun the same command later: scores so far are cached."
            ) from None
        try:
            return float(answer["attributeScores"][ATTRIBUTE]["summaryScore"]["value"])
        except (KeyError, TypeError, ValueError):
            raise UserError(f"Perspective at {self.url} answered without a {ATTRIBUTE} score; check the URL.") from None

    def _post(self, body: dict[str, Any]) -> Any:
        response = self._http.post(self.url, json=body)
        if response.status_code == 200:
            return response.json()
        raise _error_of(response)

    def close(self) -> None:
        self._http.close()


def _error_of(response: httpx.Response) -> PerspectiveError:
    """Google's error body: {"error": {"code", "message", "status", "details": [{"reason" | "errorType"}]}}."""
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    details = error.get("details") or [{}]
    reason = details[0].get("reason") or details[0].get("errorType") or error.get("status") or "ERROR"
    message = str(error.get("message") or response.reason_phrase)
    return PerspectiveError(response.status_code, message, str(reason))


def _retryable(error: BaseException) -> bool:
    if isinstance(error, PerspectiveError):
        return error.status in (408, 429) or error.status >= 500
    return isinstance(error, (httpx.TimeoutException, httpx.TransportError))
