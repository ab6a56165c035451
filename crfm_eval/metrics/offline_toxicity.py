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

The protocol is one JSON line per batch each way: a list of texts in, `{"scores": [...]}` or
`{"error": "..."}` out, in order. JSON escapes any text (a lone surrogate included) and gives the
floats back exactly.
"""

import atexit
import json
import queue
import subprocess
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import Future
from typing import IO, Any, Optional

from crfm_eval.errors import UserError

INSTALL_HINT = (
    "install it with `pip install alt-profanity-check` (it is one of crfm_eval's dependencies), or score "
    "with Perspective: metric.toxicity.args.scorer=perspective"
)


class OfflineScorerProcess:
    """Scores batches of texts in a child process; `submit` never blocks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen[str]] = None
        self._waiting: deque[Future[list[float]]] = deque()
        """Futures of the batches sent and not yet answered, in the order they were sent."""
        self._outbox: queue.SimpleQueue[Optional[str]] = queue.SimpleQueue()
        self._failure: Optional[str] = None

    def submit(self, texts: list[str]) -> "Future[list[float]]":
        """The scores of `texts`, once the child has them. The line is written by a thread of its
        own: the child reads nothing until its model is loaded, and a pipe holds only 64 KB."""
        future: Future[list[float]] = Future()
        with self._lock:
            if self._failure is not None:
                future.set_exception(UserError(self._failure))
                return future
            if self._process is None:
                self._start()
            self._waiting.append(future)
            self._outbox.put(json.dumps(texts) + "\n")
        return future

    def _start(self) -> None:
        # Its standard error goes to a file, read if it fails: a pipe nobody reads while it works
        # would stop it once 64 KB of warnings had been written.
        errors = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "crfm_eval.metrics.offline_toxicity"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._outbox = queue.SimpleQueue()
        writer_args = (self._process.stdin, self._outbox)
        threading.Thread(target=self._write, args=writer_args, name="toxicity-in", daemon=True).start()
        threading.Thread(target=self._read, args=(self._process, errors), name="toxicity-out", daemon=True).start()

    @staticmethod
    def _write(stdin: IO[str], outbox: "queue.SimpleQueue[Optional[str]]") -> None:
        try:
            while (line := outbox.get()) is not None:
                stdin.write(line)
                stdin.flush()
            stdin.close()
        except OSError:
            pass  # the child is gone: `_read` tells every waiting batch why

    def _read(self, process: "subprocess.Popen[str]", errors: IO[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                reply = json.loads(line)
            except ValueError:
                process.kill()  # not our protocol: everything waiting fails below, in one sentence
                break
            with self._lock:
                future = self._waiting.popleft()
            if "scores" in reply:
                future.set_result(reply["scores"])
            else:
                future.set_exception(UserError(f"The offline toxicity model failed on a batch: {reply['error']}."))
        # End of output: the child exited (closed by `close`, or it failed).
        status = process.wait()
        errors.seek(0)
        detail = errors.read().strip().splitlines()
        errors.close()
        reason = detail[-1] if detail else f"exit status {status}"
        failure = f"The offline toxicity scorer stopped ({reason}); {INSTALL_HINT}."
        with self._lock:
            if process is self._process:  # not closed by `close`: later batches fail at once
                self._failure = failure
            waiting, self._waiting = list(self._waiting), deque()
        for future in waiting:
            future.set_exception(UserError(failure))

    def close(self) -> None:
        """End the child: at once if batches are still unanswered (nothing waits for them any more:
        an interrupted run, whose scores so far are cached), else once it has read the end of its input."""
        with self._lock:
            process, self._process = self._process, None
            unanswered = bool(self._waiting)
        if process is None:
            return
        self._outbox.put(None)
        if unanswered:
            process.kill()  # it may still be loading the model: Ctrl-C must not wait 2-3 s for that
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve() -> None:
    """The child: load the model, then answer each line of texts with a line of scores."""
    # Standard output carries the answers only: anything a library prints goes to standard error.
    answers, sys.stdout = sys.stdout, sys.stderr
    try:
        from profanity_check import predict_prob  # type: ignore[import-untyped]
    except ImportError as error:
        print(f"alt-profanity-check cannot be imported: {error}", file=sys.stderr)
        sys.exit(1)
    for line in sys.stdin:
        reply: dict[str, Any]
        try:
            texts = json.loads(line)
            reply = {"scores": [float(value) for value in predict_prob(texts)]} if texts else {"scores": []}
        except Exception as error:  # one bad batch fails that batch, not the scorer
            reply = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()


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
    serve()
