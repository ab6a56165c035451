"""The offline toxicity model (alt-profanity-check), run in the helper process (helper_process.py).

Importing scikit-learn and unpickling the model takes 2-3 s of CPU: in the helper it happens on
another core while requests are in flight, the run's process never holds scikit-learn (the
helper's RSS is ~160 MB), and the recorder hands the helper a window of texts without waiting for
the answer (runner/recorder.py). The helper starts on the first batch to score (a rerun whose
scores are all cached never loads the model) and ends when the run's process exits (or dies).
"""

from concurrent.futures import Future

from crfm_eval.metrics.helper_process import ask

INSTALL_HINT = (
    "install it with `pip install alt-profanity-check` (it is one of crfm_eval's dependencies), or score "
    "with Perspective: metric.toxicity.args.scorer=perspective"
)


def submit(texts: list[str]) -> "Future[list[float]]":
    """The probability that each text is toxic, once the helper has it."""
    return ask("toxicity", texts, failed=lambda error: f"The offline toxicity model failed on a batch: {error}.")


def toxicity_scores(texts: list[str]) -> list[float]:
    """In the helper: the model's scores (the model is loaded on the first call)."""
    try:
        from profanity_check import predict_prob  # type: ignore[import-untyped]
    except ImportError as error:
        raise ImportError(f"alt-profanity-check cannot be imported ({error}); {INSTALL_HINT}") from error
    return [float(value) for value in predict_prob(texts)] if texts else []
