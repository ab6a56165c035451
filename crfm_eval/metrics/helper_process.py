"""The helper process: a child that computes what needs scikit-learn or scipy (the offline toxicity
model's scores, the quantiles of the confidence intervals) while the run's process goes on. One
per process (`shared_helper`): a sweep in one process, or a test session, loads each library once.

Why a process: importing scikit-learn (and unpickling the toxicity model) or scipy holds the GIL
for 0.4-3 s of CPU. In the run's process that time came out of the requests in flight
(bench/request_rate.py, 16 threads against a 50 ms server: the execute phase reached 0.59-0.60 of
the request-rate limit with the toxicity model loaded in the run's process, 0.87 with scipy
preloaded there); in a child it runs on another core, and the run's process never holds those
libraries. Why one child for both: scikit-learn imports scipy, so a second child loading scipy
again only competed for the cores (measured at 64 threads: 0.64 of the limit with two children,
0.69 with one; at 16 threads 0.91-0.92 and 0.92-0.93).

A task (TASKS) names a function of a module, imported in the child when first asked; an ImportError
it raises fails that request (and the next ones, which try again), not the helper.

The protocol, one JSON line each way per request: `[task, payload]` in; `{"answer": ...}` or
`{"error": "..."}` out. JSON escapes any text (a lone surrogate included) and gives floats back
exactly. The child's standard output carries answers only (a library's prints go to standard error,
which goes to a file: a pipe nobody reads would stop the child once 64 KB of warnings were written).
A child ends when its parent closes it (`close`, at exit) or dies (its input closes).
"""

import atexit
import importlib
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections import deque
from concurrent.futures import Future
from typing import IO, Any, Callable, Optional

from crfm_eval.errors import UserError


class HelperProcess:
    """Answers requests in a child process started on the first one; `submit` never blocks."""

    def __init__(self, module: str, stopped: Callable[[str], str], failed: Callable[[str], str]) -> None:
        """`module` is run as `python -m module` (it calls `serve`); `stopped(reason)` is the sentence
        for a child that ended (killed, or crashed), `failed(error)` the one for a request it could
        not answer."""
        self.module, self._stopped, self._failed = module, stopped, failed
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen[str]] = None
        self._waiting: deque[tuple[Future[Any], Callable[[str], str]]] = deque()
        """The requests sent and not yet answered, in the order they were sent: their Futures, and
        the sentence each gives to an error."""
        self._outbox: queue.SimpleQueue[Optional[str]] = queue.SimpleQueue()
        self._failure: Optional[str] = None

    def submit(self, request: Any, failed: Optional[Callable[[str], str]] = None) -> "Future[Any]":
        """The child's answer to `request`, once it has it (`failed(error)`, if given, is the
        sentence of its error). The line is written by a thread of its own: the child may be busy
        loading a library, and a pipe holds only 64 KB."""
        future: Future[Any] = Future()
        with self._lock:
            if self._failure is not None:
                future.set_exception(UserError(self._failure))
                return future
            if self._process is None:
                self._start()
            self._waiting.append((future, failed or self._failed))
            self._outbox.put(json.dumps(request) + "\n")
        return future

    def _start(self) -> None:
        errors = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self._process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._outbox = queue.SimpleQueue()
        name = self.module.rsplit(".", 1)[-1]
        writer_args = (self._process.stdin, self._outbox)
        threading.Thread(target=self._write, args=writer_args, name=f"{name}-in", daemon=True).start()
        threading.Thread(target=self._read, args=(self._process, errors), name=f"{name}-out", daemon=True).start()

    @staticmethod
    def _write(stdin: IO[str], outbox: "queue.SimpleQueue[Optional[str]]") -> None:
        try:
            while (line := outbox.get()) is not None:
                stdin.write(line)
                stdin.flush()
            stdin.close()
        except OSError:
            pass  # the child is gone: `_read` tells every waiting request why

    def _read(self, process: "subprocess.Popen[str]", errors: IO[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            try:
                reply = json.loads(line)
            except ValueError:
                process.kill()  # not our protocol: everything waiting fails below, in one sentence
                break
            with self._lock:
                future, failed = self._waiting.popleft()
            if "answer" in reply:
                future.set_result(reply["answer"])
            else:
                future.set_exception(UserError(failed(reply["error"])))
        # End of output: the child exited (closed by `close`, or it failed).
        status = process.wait()
        errors.seek(0)
        detail = errors.read().strip().splitlines()
        errors.close()
        failure = self._stopped(detail[-1] if detail else f"exit status {status}")
        with self._lock:
            if process is self._process:  # not closed by `close`: later requests fail at once
                self._failure = failure
            waiting, self._waiting = list(self._waiting), deque()
        for future, _ in waiting:
            future.set_exception(UserError(failure))

    def close(self) -> None:
        """End the child, at once. It keeps nothing worth an orderly exit (every answer it gave has
        been read, and unanswered requests are not waited for any more: an interrupted run), and it
        may still be loading its library: Ctrl-C must not wait seconds for that."""
        with self._lock:
            process, self._process = self._process, None
        if process is None:
            return
        self._outbox.put(None)
        process.kill()
        process.wait()


def serve(answer: Callable[[Any], Any]) -> None:
    """The child's side: each line in gets a line out, `answer`'s value for it or its error."""
    answers, sys.stdout = sys.stdout, sys.stderr
    for line in sys.stdin:
        reply: dict[str, Any]
        try:
            reply = {"answer": answer(json.loads(line))}
        except Exception as error:  # one bad request fails that request, not the helper
            reply = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(reply) + "\n")
        answers.flush()
    # End of input: every answer is written. Exit without tearing down the library's modules (0.2 s
    # for scikit-learn here), a time the run's process would spend waiting in `close`.
    sys.stderr.flush()
    os._exit(0)


TASKS = {
    "toxicity": "crfm_eval.metrics.offline_toxicity:toxicity_scores",
    "quantile": "crfm_eval.metrics.quantiles:compute",
}
"""What the shared helper computes: task -> `module:function` (called with the request's payload)."""

_shared: Optional[HelperProcess] = None
_shared_lock = threading.Lock()


def shared_helper() -> HelperProcess:
    """This process's helper (the child itself starts on the first request)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = HelperProcess(
                "crfm_eval.metrics.helper_process",
                stopped=lambda reason: (
                    f"The helper process (scikit-learn, scipy) stopped ({reason}); reinstall crfm_eval's "
                    "dependencies (`pip install crfm_eval`) and run the same command again."
                ),
                failed=lambda error: f"The helper process failed: {error}.",
            )
            atexit.register(_shared.close)
        return _shared


def ask(task: str, payload: Any, failed: Optional[Callable[[str], str]] = None) -> "Future[Any]":
    """The answer of `task` (a key of TASKS) for `payload`, computed in the shared helper."""
    return shared_helper().submit([task, payload], failed)


def preload(module: str) -> None:
    """Have the shared helper import `module` now (started if need be), before it is needed."""
    shared_helper().submit(["import", module])


def _answer(request: list[Any]) -> Any:
    task, payload = request
    if task == "import":
        importlib.import_module(payload)
        return None
    module, function = TASKS[task].split(":")
    return getattr(importlib.import_module(module), function)(payload)


if __name__ == "__main__":
    serve(_answer)
