"""The Service: the one model-access interface the executor knows, and its in-process implementation."""

import dataclasses
import json
import logging
import re
import threading
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Optional

from crfm_eval.errors import UserError
from crfm_eval.models.cache import RequestCache, cache_key
from crfm_eval.models.clients.client import Client
from crfm_eval.models.credentials import Credentials
from crfm_eval.models.in_flight import InFlight
from crfm_eval.objects import create_object
from crfm_eval.redaction import redact
from crfm_eval.specs import ModelSpec
from crfm_eval.states import Request, RequestResult, request_result_from_json

log = logging.getLogger(__name__)

_NOT_CACHED = '"cached":false'


class Service(ABC):
    """Answers requests and tokenizes text for the models it knows."""

    @abstractmethod
    def make_request(self, request: Request) -> RequestResult:
        """The result of `request`, from the cache when it holds one. Failures come back as results."""

    @abstractmethod
    def tokenize(self, model: str, text: str) -> list[str]:
        """The model's tokens of `text` (strings that concatenate to `text`)."""

    def count_tokens(self, model: str, text: str) -> int:
        """`len(self.tokenize(model, text))`, cheaper where the service can count without the tokens."""
        return len(self.tokenize(model, text))

    def cached_result(self, request: Request) -> Optional[RequestResult]:
        """The stored result of `request` if this service can tell at once, without asking the model
        (None: ask with `make_request`). Lets a caller skip a thread hand-off for a cache hit."""
        return None

    @abstractmethod
    def context_length(self, model: str) -> Optional[int]:
        """The model's context window in tokens, when its client knows it."""

    def close(self) -> None:  # noqa: B027 - optional: most services hold nothing to release
        """Release files and connections."""


class LocalService(Service):
    """Holds the model clients and their caches in this process."""

    def __init__(
        self, model_specs: list[ModelSpec], cache_dir: Path, credentials: Optional[Credentials] = None
    ) -> None:
        self._specs = {spec.name: spec for spec in model_specs}
        self._cache_dir = cache_dir
        self._credentials = credentials or Credentials()
        self._clients: dict[str, Client] = {}
        self._caches: dict[str, RequestCache] = {}
        self._lock = threading.Lock()
        self._in_flight: InFlight[RequestResult] = InFlight()
        self.num_cache_hits = 0
        self.num_model_calls = 0

    def client(self, model: str) -> Client:
        """The client of `model`, created on first use (tokenizing needs no cache file)."""
        with self._lock:
            if model not in self._clients:
                spec = self._specs.get(model)
                if spec is None:
                    known = ", ".join(sorted(self._specs)) or "none"
                    raise UserError(f"Unknown model {model!r}; known models: {known}.")
                self._clients[model] = create_object(
                    spec.client, spec.args, Client, f"model.client of {model}", {"credentials": self._credentials}
                )
            return self._clients[model]

    def cache_file(self, model: str) -> Path:
        """The sqlite file of `model`'s cache (it may not exist yet)."""
        return self._cache_dir / (re.sub(r"[^A-Za-z0-9._-]+", "_", model) + ".sqlite")

    def _client_and_cache(self, model: str) -> tuple[Client, RequestCache]:
        client = self.client(model)
        with self._lock:
            if model not in self._caches:
                self._caches[model] = RequestCache(self.cache_file(model))
            return client, self._caches[model]

    def tokenize(self, model: str, text: str) -> list[str]:
        return self.client(model).tokenize(text)

    def count_tokens(self, model: str, text: str) -> int:
        return self.client(model).count_tokens(text)

    def context_length(self, model: str) -> Optional[int]:
        return self.client(model).context_length()

    @property
    def model_specs(self) -> list[ModelSpec]:
        return list(self._specs.values())

    def key_of(self, request: Request) -> str:
        """The cache key of `request`: its model, the client's identity and every field of the request."""
        return self._key(self.client(request.model), request)

    def _key(self, client: Client, request: Request) -> str:
        identity = {"class": f"{type(client).__module__}.{type(client).__qualname__}", **client.cache_identity()}
        return cache_key(request.model, identity, request)

    def cached_result(self, request: Request) -> Optional[RequestResult]:
        """The stored result of `request`, if any, without asking the model (the proxy charges
        quotas only for what this returns None for)."""
        client, cache = self._client_and_cache(request.model)
        stored = cache.get(self._key(client, request))
        return None if stored is None else self._cache_hit(stored)

    def cached_json_text(self, request: Request) -> Optional[str]:
        """The stored result of `request` as JSON text with `cached` true, if any, without asking
        the model. The proxy answers cache hits with it as it is (no decoding and encoding on its
        busiest path), and charges quotas only for what this returns None for."""
        client, cache = self._client_and_cache(request.model)
        text = cache.get_text(self._key(client, request))
        if text is None:
            return None
        with self._lock:
            self.num_cache_hits += 1
        # Results are stored compact, `cached` false. The flag is the only place the text can hold
        # this sequence (inside a string its quotes would be escaped; logprobs are numbers).
        if text.count(_NOT_CACHED) == 1:
            return text.replace(_NOT_CACHED, '"cached":true')
        stored = json.loads(text)
        stored["cached"] = True
        return json.dumps(stored, ensure_ascii=False)

    def make_request(self, request: Request) -> RequestResult:
        client, cache = self._client_and_cache(request.model)
        key = self._key(client, request)
        # One cache lookup, in _call_once (a lookup binds and compares the whole key, prompt included).
        result, shared = self._in_flight.run(key, lambda: self._call_once(client, cache, key, request))
        if shared and result.success:  # another thread's call answered it: no upstream call for this one
            with self._lock:
                self.num_cache_hits += 1
            return dataclasses.replace(result, cached=True)
        return result

    def _cache_hit(self, stored: dict[str, Any]) -> RequestResult:
        with self._lock:
            self.num_cache_hits += 1
        return dataclasses.replace(request_result_from_json(stored), cached=True)

    def _call_once(self, client: Client, cache: RequestCache, key: str, request: Request) -> RequestResult:
        """Ask the model, unless another thread or process stored the result since the first look."""
        stored = cache.get(key)
        if stored is not None:
            return self._cache_hit(stored)
        start = time.perf_counter()
        try:
            result = client.log_likelihood(request) if request.is_log_likelihood else client.make_request(request)
        except Exception as error:  # any client failure fails this request only, and is never cached
            log.debug("Request to %s failed", request.model, exc_info=True)
            # Redacted: a provider's error may quote the key it was sent (it is written to scenario_state).
            return RequestResult(success=False, error=redact(f"{type(error).__name__}: {error}"))
        finally:
            with self._lock:
                self.num_model_calls += 1
        if result.request_time is None:
            result = dataclasses.replace(result, request_time=time.perf_counter() - start)
        if result.success:
            cache.put(key, result if not result.cached else dataclasses.replace(result, cached=False))
        return result

    def close(self) -> None:
        for cache in self._caches.values():
            cache.close()
