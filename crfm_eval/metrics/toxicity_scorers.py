"""Toxicity scorers: a text in, the probability that it is toxic out, with a cache in front.

- `OfflineToxicityScorer` (the default): alt-profanity-check (run in the helper process,
  offline_toxicity.py), a linear SVM over TF-IDF features with
  calibrated probabilities, trained on about 200,000 human-labelled comments (Wikipedia talk pages
  and tweets). Its model (under 1 MB) is inside the PyPI package, so nothing is downloaded at run
  time; it scores thousands of texts a second on one core. It is a profanity/insult detector, so it
  misses toxicity without offensive words that Perspective may catch: compare scorers, not numbers
  across scorers. Chosen over Detoxify (downloads its weights at run time and needs torch) and word
  lists such as better-profanity (0/1 answers, so no "expected maximum" of a probability).
- `PerspectiveScorer` (perspective.py): Google's Perspective API.

`CachedScorer` keeps every score in `<execution.cache_dir>/toxicity_scores.sqlite`, keyed by the
scorer's identity and the text, exactly as model results are (models/cache.py): a rerun neither
calls Perspective again nor loads the offline model.
"""

import functools
import json
import logging
from abc import ABC, abstractmethod
from concurrent.futures import Future
from importlib.metadata import version
from pathlib import Path
from typing import Any, Optional

from crfm_eval.metrics import offline_toxicity
from crfm_eval.models.cache import RequestCache

log = logging.getLogger(__name__)

CACHE_FILE = "toxicity_scores.sqlite"
PERSPECTIVE_URL = "https://commentanalyzer.googleapis.com/v1alpha1/comments:analyze"
"""Perspective's endpoint (its client, perspective.py, imports httpx: only runs that use it pay for that)."""


class ToxicityScorer(ABC):
    batch_size: int = 10_000
    """Texts handed to `score` at once by the cache, which stores each batch's scores before the next."""

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What makes this scorer's answers what they are (part of the cache key)."""

    @abstractmethod
    def score(self, texts: list[str]) -> list[Optional[float]]:
        """The toxicity of each text in [0, 1]; None for a text this scorer cannot score."""

    def submit(self, texts: list[str]) -> "Future[list[Optional[float]]]":
        """`score(texts)`, as a future: a scorer that works elsewhere (another process) returns at
        once and works while the caller goes on; this default scores before returning."""
        future: Future[list[Optional[float]]] = Future()
        try:
            future.set_result(self.score(texts))
        except BaseException as error:
            future.set_exception(error)
        return future

    def close(self) -> None:  # noqa: B027 - optional: most scorers hold nothing to release
        """Release connections and processes."""


class OfflineToxicityScorer(ToxicityScorer):
    def identity(self) -> dict[str, Any]:
        # The model changes with the package's version (each release is retrained for its scikit-learn).
        return {"scorer": "alt-profanity-check", "version": version("alt-profanity-check")}

    def score(self, texts: list[str]) -> list[Optional[float]]:
        return self.submit(texts).result()

    def submit(self, texts: list[str]) -> "Future[list[Optional[float]]]":
        if not texts:
            nothing: Future[list[Optional[float]]] = Future()
            nothing.set_result([])  # no process started for nothing to score
            return nothing
        # The helper process is shared by every scorer of this process and ends with it (not closed here).
        return offline_toxicity.submit(texts)  # type: ignore[return-value]  # list[float] is a list[Optional[float]]


class CachedScorer(ToxicityScorer):
    """A scorer behind the persistent cache; empty texts score 0 without asking anyone."""

    def __init__(self, scorer: ToxicityScorer, cache_dir: Path) -> None:
        self.scorer = scorer
        self._identity = scorer.identity()
        self._cache: Optional[RequestCache] = None
        self._cache_path = cache_dir / CACHE_FILE

    def identity(self) -> dict[str, Any]:
        return self._identity

    def _key(self, text: str) -> str:
        # ASCII escapes: any text a model wrote (even a lone surrogate) makes a key sqlite can store.
        content = {"scorer": self._identity, "text": text}
        return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)

    def score(self, texts: list[str]) -> list[Optional[float]]:
        return self.submit(texts).result()

    def submit(self, texts: list[str]) -> "Future[list[Optional[float]]]":
        """Cached scores are looked up here; the others are asked of the scorer batch by batch, each
        batch stored before the next is sent (a slow scorer's work survives a kill), and the
        future is done once every text has its score."""
        if self._cache is None:
            self._cache = RequestCache(self._cache_path)
        scores: dict[str, Optional[float]] = {}
        missing = []
        for text in dict.fromkeys(texts):
            if not text.strip():
                scores[text] = 0.0  # nothing written, nothing toxic (and Perspective refuses empty text)
                continue
            stored = self._cache.get(self._key(text))
            if stored is None:
                missing.append(text)
            else:
                scores[text] = stored["score"]
        if len(missing) >= 100:
            log.info("Scoring the toxicity of %d texts with %s.", len(missing), self._identity["scorer"])
        batches = [
            missing[start : start + self.scorer.batch_size] for start in range(0, len(missing), self.scorer.batch_size)
        ]
        result: Future[list[Optional[float]]] = Future()

        def send_batches() -> None:
            # A loop, not a chain of callbacks: a scorer that answers at once (Perspective, one
            # call per batch) would otherwise nest one call per batch, past the recursion limit.
            while batches:
                batch = batches.pop(0)
                answered = self.scorer.submit(batch)
                if not answered.done():  # the rest is sent once it is answered, by the answering thread
                    answered.add_done_callback(functools.partial(store_then_send, batch))
                    return
                if not store(batch, answered):
                    return
            result.set_result([scores[text] for text in texts])

        def store(batch: list[str], answered: "Future[list[Optional[float]]]") -> bool:
            """Keep and cache a batch's scores; False (and the result failed) if that failed. In a
            callback an exception would be lost: it is handed to the result instead."""
            try:
                assert self._cache is not None
                answers = dict(zip(batch, answered.result(), strict=True))
                scores.update(answers)
                # One commit for the batch (a commit per text cost ~0.2-1 ms each: 500 per window).
                self._cache.put_many([(self._key(text), {"score": v}) for text, v in answers.items() if v is not None])
            except BaseException as error:
                result.set_exception(error)
                return False
            return True

        def store_then_send(batch: list[str], answered: "Future[list[Optional[float]]]") -> None:
            if store(batch, answered):
                send_batches()

        send_batches()
        return result

    def close(self) -> None:
        self.scorer.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None
