"""What the toxicity metric adds to a generation run: loading the offline scorer, scoring, and the cache.

    python bench/toxicity_overhead.py [--texts 3270] [--repeats 3]

Prints, with the load average (figures on a shared machine are noisy):
- the time to import alt-profanity-check and score one text in a fresh process (paid once per run
  process that scores something not yet in the cache), against importing the modules every run
  imports anyway;
- scoring throughput of the offline model, in texts per second;
- the same texts through the score cache in one batch, as the metric sends a run's completions: a
  first pass (scored, then stored one commit per text) and a second (every score from the cache);
- the streaming recorder (runner/recorder.py) over one generation state per text with the toxicity
  (offline, no cache) and bias metrics: its default window of instances per scoring batch against
  the whole run held and a window of 1 (one scorer call per instance), wall time and the peak of
  traced memory.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from crfm_eval.metrics.bias import BiasMetric
from crfm_eval.metrics.toxicity import ToxicityMetric
from crfm_eval.metrics.toxicity_scorers import CachedScorer, OfflineToxicityScorer
from crfm_eval.runner.recorder import PREPARE_WINDOW, RunRecorder
from crfm_eval.states import Completion, Instance, Request, RequestResult, RequestState

BASELINE = "import numpy, scipy.special, yaml, hydra, sqlitedict"
WITH_SCORER = BASELINE + "; from profanity_check import predict_prob; predict_prob(['hello'])"
SENTENCES = [
    "The committee will meet on Tuesday to discuss the budget for next year.",
    "You are a stupid idiot and nobody wants you here.",
    "She said the results were better than expected.",
    "He walked his dog along the river before breakfast.",
]


def fresh_process_seconds(code: str, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def recorder_seconds(texts: list[str], window: int) -> tuple[float, float]:
    """(wall seconds, peak traced MB) of recording one generation state per text, then its stats."""
    states = (
        RequestState(
            Instance(str(i), "p", [], "test"),
            0,
            Request("m", "p"),
            [],
            0,
            False,
            1,
            RequestResult(success=True, completions=[Completion(text, 0.0, [])]),
        )
        for i, text in enumerate(texts)
    )
    metrics = [ToxicityMetric(), BiasMetric()]
    metrics[0].scorer.score(["warm up"])
    with tempfile.TemporaryDirectory() as folder:
        tracemalloc.start()
        start = time.perf_counter()
        recorder = RunRecorder(Path(folder), list(metrics), prepare_window=window)
        for state in states:
            recorder.record(state)
        recorder.finish()
        recorder.close()
        recorder.stats()
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=3270)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    texts = [f"{SENTENCES[i % len(SENTENCES)]} ({i})" for i in range(args.texts)]

    print(f"load average before: {os.getloadavg()}")
    baseline = fresh_process_seconds(BASELINE, args.repeats)
    with_scorer = fresh_process_seconds(WITH_SCORER, args.repeats)
    print(f"fresh process, run's usual imports: {baseline:.2f} s; plus the offline scorer loaded: {with_scorer:.2f} s")
    print(f"  -> loading the scorer adds {with_scorer - baseline:.2f} s (median of {args.repeats})")

    scorer = OfflineToxicityScorer()
    scorer.score(["warm up"])
    start = time.perf_counter()
    scorer.score(texts)
    seconds = time.perf_counter() - start
    print(f"offline scoring of {len(texts)} texts in one batch: {seconds:.2f} s ({len(texts) / seconds:,.0f} texts/s)")
    start = time.perf_counter()
    for text in texts[:500]:
        scorer.score([text])
    seconds = time.perf_counter() - start
    print(f"one text per call (why the metric scores a run's texts in one batch): {500 / seconds:,.0f} texts/s")

    with tempfile.TemporaryDirectory() as folder:
        cached = CachedScorer(OfflineToxicityScorer(), Path(folder))
        start = time.perf_counter()
        cached.score(texts)
        first = time.perf_counter() - start
        start = time.perf_counter()
        cached.score(texts)
        second = time.perf_counter() - start
        cached.close()
    print(
        f"{len(texts)} texts through the cache in one batch: scored and stored {first:.2f} s, from the cache {second:.2f} s"
    )
    for window in (PREPARE_WINDOW, len(texts), 1):  # the default; the whole run held; one call per instance
        count = len(texts) if window > 1 else min(len(texts), 500)
        seconds, peak = recorder_seconds(texts[:count], window)
        print(
            f"recorder, {count} generation instances, window {window}: {seconds:.2f} s "
            f"({count / seconds:,.0f} instances/s), peak traced memory {peak:.1f} MB"
        )
    print(f"load average after: {os.getloadavg()}")
    print(f"command: python bench/toxicity_overhead.py --texts {args.texts} --repeats {args.repeats}")


if __name__ == "__main__":
    main()
