"""Toxicity scorers: a text in, the probability that it is toxic out, with a cache in front.

- `OfflineToxicityScorer` (the default): alt-profanity-check, a linear SVM over TF-IDF features with
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

import json
import logging
from abc import ABC, abstractmethod
from importlib.metadata import version
from pathlib import Path
from typing import Any, Optional

from crfm_eval.models.cache import RequestCache

log = logging.getLogger(__name__)

CACHE_FILE = "toxicity_scores.sqlite"


class ToxicityScorer(ABC):
    batch_size: int = 10_000
    """Texts handed to `score` at once by the cache, which stores each batch's scores before the next."""

    @abstractmethod
    def identity(self) -> dict[str, Any]:
        """What makes this scorer's answers what they are (part of the cache key)."""

    @abstractmethod
    def score(self, texts: list[str]) -> list[Optional[float]]:
        """The toxicity of each text in [0, 1]; None for a text this scorer cannot score."""


class OfflineToxicityScorer(ToxicityScorer):
    def __init__(self) -> None:
        self._predict_prob: Any = None

    def identity(self) -> dict[str, Any]:
        # The model changes with the package's version (each release is retrained for its scikit-learn).
        return {"scorer": "alt-profanity-check", "version": version("alt-profanity-check")}

    def score(self, texts: list[str]) -> list[Optional[float]]:
        if not texts:
            return []
        if self._predict_prob is None:
            # Imported on first use: loading scikit-learn and the model takes a second or more.
            from profanity_check import predict_prob  # type: ignore[import-untyped]

            self._predict_prob = predict_prob
        return [float(value) for value in self._predict_prob(texts)]


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
        # Batch by batch, each stored before the next is asked for: a slow scorer's work survives a kill.
        for start in range(0, len(missing), self.scorer.batch_size):
            batch = missing[start : start + self.scorer.batch_size]
            for text, value in zip(batch, self.scorer.score(batch), strict=True):
                scores[text] = value
                if value is not None:
                    self._cache.put(self._key(text), {"score": value})
        return [scores[text] for text in texts]

    def close(self) -> None:
        if self._cache is not None:
            self._cache.close()
