"""Toxicity scorers on known toxic and clean sentences: the offline model shipped in its package, and
Perspective's client against a local server speaking Perspective's wire format."""

import logging
from concurrent.futures import Future
from pathlib import Path

import pytest
from fake_perspective import CLEAN_SCORE, TOXIC_SCORE, fake_perspective

from crfm_eval.errors import UserError
from crfm_eval.metrics.perspective import PerspectiveScorer, perspective_key
from crfm_eval.metrics.toxicity_scorers import CachedScorer, OfflineToxicityScorer
from crfm_eval.models.credentials import Credentials

TOXIC = [
    "You are a stupid idiot and everyone hates you.",
    "Shut the fuck up, you worthless piece of shit.",
    "What an asshole, go to hell.",
]
CLEAN = [
    "The weather is lovely today and the garden is in bloom.",
    "Thank you for your help with the report, it was very clear.",
    "The committee will meet on Tuesday to discuss the budget.",
]
KEY = "fake-perspective-key-123456"


def test_offline_scorer_separates_toxic_from_clean_sentences() -> None:
    scores = OfflineToxicityScorer().score(TOXIC + CLEAN)
    assert all(score >= 0.5 for score in scores[: len(TOXIC)]), scores
    assert all(score < 0.5 for score in scores[len(TOXIC) :]), scores


def test_cached_scores_are_reused_and_empty_text_is_not_scored(tmp_path: Path) -> None:
    class Counting(OfflineToxicityScorer):
        seen: list[str] = []

        def submit(self, texts: list[str]) -> "Future[list[float | None]]":
            self.seen.extend(texts)
            return super().submit(texts)

    first = CachedScorer(Counting(), tmp_path)
    scores = first.score([TOXIC[0], "", "  ", CLEAN[0], TOXIC[0]])
    first.close()
    assert scores[1] == scores[2] == 0.0 and scores[0] == scores[4]
    assert Counting.seen == [TOXIC[0], CLEAN[0]]  # each text once; blank ones never
    again = CachedScorer(Counting(), tmp_path)
    assert again.score([CLEAN[0], TOXIC[0]]) == [scores[3], scores[0]]
    again.close()
    assert Counting.seen == [TOXIC[0], CLEAN[0]]  # the second scorer asked the cache only


def test_perspective_scores_known_sentences_in_its_wire_format() -> None:
    with fake_perspective(KEY) as fake:
        scorer = PerspectiveScorer(KEY, url=fake.url, requests_per_second=50)
        scores = scorer.score(TOXIC[:1] + CLEAN[:1])
        scorer.close()
    assert scores == [TOXIC_SCORE, CLEAN_SCORE]
    bodies = sorted((call["body"] for call in fake.calls), key=lambda body: body["comment"]["text"])
    assert bodies[0] == {
        "comment": {"text": CLEAN[0]},
        "requestedAttributes": {"TOXICITY": {}},
        "languages": ["en"],
        "doNotStore": True,
    }
    # The key travels in the header, never in the URL (which errors and logs may print).
    assert all(call["key"] == KEY and KEY not in call["path"] for call in fake.calls)


def test_perspective_calls_stay_within_the_rate_limit() -> None:
    with fake_perspective(KEY) as fake:
        scorer = PerspectiveScorer(KEY, url=fake.url, requests_per_second=5)
        scorer.score([f"sentence number {i}" for i in range(4)])
        scorer.close()
    times = sorted(call["time"] for call in fake.calls)
    # Sent 0.2 s apart; arrival times carry the scheduling jitter of a loaded machine, so check the
    # span of the four calls (three intervals) with a small allowance.
    assert len(times) == 4 and times[-1] - times[0] >= 3 * 0.2 - 0.05, times


def test_perspective_retries_429_and_503_honouring_retry_after() -> None:
    with fake_perspective(KEY, fail_first=[(429, {"Retry-After": "0.3"}), (503, {})]) as fake:
        scorer = PerspectiveScorer(KEY, url=fake.url, requests_per_second=50)
        assert scorer.score([TOXIC[0]]) == [TOXIC_SCORE]
        scorer.close()
    assert len(fake.calls) == 3
    assert fake.calls[1]["time"] - fake.calls[0]["time"] >= 0.25  # Retry-After 0.3 s, less arrival jitter


def test_perspective_failures_end_in_one_sentence(caplog: pytest.LogCaptureFixture) -> None:
    with fake_perspective(KEY) as fake:
        with pytest.raises(UserError, match="Perspective refused the API key .*PERSPECTIVE_API_KEY"):
            PerspectiveScorer("wrong-key-000000", url=fake.url).score(["hello"])
        # A language TOXICITY cannot score: that text gets no score, the others do.
        scorer = PerspectiveScorer(KEY, url=fake.url, requests_per_second=50, languages=("xx",))
        with caplog.at_level(logging.WARNING):
            assert scorer.score(["bonjour"]) == [None]
        assert "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE" in caplog.text
    with fake_perspective(KEY, fail_first=[(503, {})] * 10) as fake:
        with pytest.raises(UserError, match="Perspective kept failing .*scores so far are cached"):
            PerspectiveScorer(KEY, url=fake.url, requests_per_second=50, max_retries=1).score(["hello"])
    with pytest.raises(UserError, match="could not be reached"):
        PerspectiveScorer(KEY, url="http://127.0.0.1:9/v1alpha1/comments:analyze", max_retries=0).score(["hello"])


def test_missing_perspective_key_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PERSPECTIVE_API_KEY", raising=False)
    with pytest.raises(UserError) as error:
        perspective_key(Credentials())
    message = str(error.value)
    assert "PERSPECTIVE_API_KEY" in message and "credentials.yaml" in message and message.count(". ") == 0
    assert perspective_key(Credentials({"perspective_api_key": KEY})) == KEY
    monkeypatch.setenv("PERSPECTIVE_API_KEY", KEY)
    assert perspective_key(Credentials()) == KEY


def test_a_scorer_answering_batch_by_batch_at_once_scores_a_large_window(tmp_path: Path) -> None:
    # Perspective's batches are one call each (at 1 call/s) and answered before `submit` returns:
    # 3,000 of them in a row must not nest 3,000 calls deep (a RecursionError beyond ~300).
    class OneAtATime(OfflineToxicityScorer):
        batch_size = 1

        def identity(self) -> dict[str, str]:
            return {"scorer": "one at a time"}

        def score(self, texts: list[str]) -> list[float | None]:
            return [len(text) / 100 for text in texts]

        def submit(self, texts: list[str]) -> "Future[list[float | None]]":
            done: Future[list[float | None]] = Future()
            done.set_result(self.score(texts))
            return done

    texts = [f"text {index}" for index in range(3000)]
    scorer = CachedScorer(OneAtATime(), tmp_path)
    assert scorer.score(texts) == [len(text) / 100 for text in texts]
    scorer.close()


def test_nothing_to_score_starts_nothing() -> None:
    # A window with no completion text (log-likelihood requests generate none) asks no process.
    assert OfflineToxicityScorer().score([]) == []
    assert OfflineToxicityScorer().submit([]).result(timeout=1) == []
