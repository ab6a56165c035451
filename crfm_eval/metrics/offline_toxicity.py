"""The offline toxicity model (alt-profanity-check) in a process of its own.

Why a process: importing scikit-learn and unpickling the model takes 2-3 s of CPU here, and it
used to happen in the run's process in the middle of its requests, holding the GIL: measured with
bench/request_rate.py (16 threads, 50 ms server), the execute phase then reached 0.59-0.60 of the
request-rate limit, and 0.78-0.81 with the model in a child process. There the import and the
scoring run on another core while requests are in flight, the run's process never holds
scikit-learn (the child's RSS is ~160 MB), and the recorder hands the child a window of texts
without waiting for the answer (runner/recorder.py).

One child serves the whole process (`shared_process`): the runs of a sweep in one process, or a
test session, load the model once. It is started on the first batch to score (a rerun whose
scores are all cached never starts it) and ends when the process exits (or dies: its input closes).

A batch is one request to the helper process (metrics/helper_process.py): a list of texts in, their
scores out.
"""

import atexit
import threading
from typing import Callable, Optional

from crfm_eval.metrics.helper_process import HelperProcess, serve

INSTALL_HINT = (
    "install it with `pip install alt-profanity-check` (it is one of crfm_eval's dependencies), or score "
    "with Perspective: metric.toxicity.args.scorer=perspective"
)


class OfflineScorerProcess(HelperProcess):
    """Scores batches of texts (`submit(texts)`, a Future of their scores) in a child process."""

    def __init__(self) -> None:
        super().__init__(
            "crfm_eval.metrics.offline_toxicity",
            stopped=lambda reason: f"The offline toxicity scorer stopped ({reason}); {INSTALL_HINT}.",
            failed=lambda error: f"The offline toxicity model failed on a batch: {error}.",
        )


def load_model() -> Callable[[list[str]], list[float]]:
    """The child's model: the probability that each text is toxic."""
    try:
        from profanity_check import predict_prob  # type: ignore[import-untyped]
    except ImportError as error:
        raise ImportError(f"alt-profanity-check cannot be imported: {error}") from error

    def scores(texts: list[str]) -> list[float]:
        return [float(value) for value in predict_prob(texts)] if texts else []

    return scores


_shared: Optional[OfflineScorerProcess] = None
_shared_lock = threading.Lock()


def shared_process() -> OfflineScorerProcess:
    """This process's scorer process (the child itself starts on the first batch)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = OfflineScorerProcess()
            atexit.register(_shared.close)
        return _shared


if __name__ == "__main__":
    serve(load_model)
