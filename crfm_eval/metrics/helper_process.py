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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Optional

from crfm_eval.errors import UserError

PACKAGE_PARENT = Path(__file__).resolve().parents[2]
"""The folder that holds the crfm_eval package (the child's working folder)."""


@dataclass
class _Child:
    """One child process and what belongs to it alone (a closed helper's next request starts another)."""

    process: "subprocess.Popen[str]"
    outbox: "queue.SimpleQueue[Optional[str]]" = field(default_factory=queue.SimpleQueue)
    waiting: deque[tuple[Future[Any], Callable[[str], str]]] = field(default_factory=deque)
    """The requests sent and not yet answered, in the order they were sent: their Futures, and the
    sentence each gives to an error."""


class HelperProcess:
    """Answers requests in a child process started on the first one; `submit` never blocks."""

    def __init__(self, module: str, stopped: Callable[[str], str], failed: Callable[[str], str]) -> None:
        """`module` is run as `python -m module` (it calls `serve`); `stopped(reason)` is the sentence
        for a child that ended (killed, or crashed), `failed(error)` the one for a request it could
        not answer."""
        self.module, self._stopped, self._failed = module, stopped, failed
        self._lock = threading.Lock()
        self._child: Optional[_Child] = None
        self._failure: Optional[str] = None
        """Set when a child stopped by itself: later requests fail at once, with the same sentence."""

    @property
    def _process(self) -> "Optional[subprocess.Popen[str]]":
        child = self._child
        return None if child is None else child.process

    def submit(self, request: Any, failed: Optional[Callable[[str], str]] = None) -> "Future[Any]":
        """The child's answer to `request`, once it has it (`failed(error)`, if given, is the
        sentence of its error). The line is written by a thread of its own: the child may be busy
        loading a library, and a pipe holds only 64 KB."""
        line = json.dumps(request) + "\n"  # a request that cannot be written fails here, in its caller
        future: Future[Any] = Future()
        with self._lock:
            if self._failure is not None:
                future.set_exception(UserError(self._failure))
                return future
            if self._child is None:
                self._child = self._start()
            self._child.waiting.append((future, failed or self._failed))
            self._child.outbox.put(line)
        return future

    def _start(self) -> _Child:
        errors = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            encoding="utf-8",
            # `-m` puts the working folder first on the child's path: there, the folder that holds
            # this package, so that the child imports the very crfm_eval (and libraries) of its
            # parent, not a `scipy/` folder that happens to be where the command was run.
            cwd=PACKAGE_PARENT,
        )
        child = _Child(process)
        name = self.module.rsplit(".", 1)[-1]
        threading.Thread(target=self._write, args=(child,), name=f"{name}-in", daemon=True).start()
        threading.Thread(target=self._read, args=(child, errors), name=f"{name}-out", daemon=True).start()
        return child

    @staticmethod
    def _write(child: _Child) -> None:
        stdin = child.process.stdin
        assert stdin is not None
        try:
            while (line := child.outbox.get()) is not None:
                stdin.write(line)
                stdin.flush()
            stdin.close()
        except OSError:
            pass  # the child is gone: `_read` tells every waiting request why

    def _read(self, child: _Child, errors: IO[str]) -> None:
        process = child.process
        assert process.stdout is not None
        try:
            for line in process.stdout:
                try:
                    reply = json.loads(line)
                except ValueError:
                    reply = None
                with self._lock:
                    waiting = child.waiting.popleft() if child.waiting else None
                if waiting is None or not isinstance(reply, dict) or not ("answer" in reply or "error" in reply):
                    process.kill()  # not our protocol: everything waiting fails below, in one sentence
                    if waiting is not None:
                        with self._lock:
                            child.waiting.appendleft(waiting)
                    break
                future, failed = waiting
                if future.set_running_or_notify_cancel():  # a cancelled request gets nothing
                    if "answer" in reply:
                        future.set_result(reply["answer"])
                    else:
                        future.set_exception(UserError(failed(str(reply["error"]))))
        finally:
            # End of output: the child exited (closed by `close`, or it failed).
            status = process.wait()
            errors.seek(0)
            detail = errors.read().strip().splitlines()
            errors.close()
            failure = self._stopped(detail[-1] if detail else f"exit status {status}")
            with self._lock:
                if child is self._child:  # not closed by `close`: later requests fail at once
                    self._failure = failure
                left, child.waiting = list(child.waiting), deque()
            for future, _ in left:
                if future.set_running_or_notify_cancel():
                    future.set_exception(UserError(failure))

    def close(self) -> None:
        """End the child, at once. It keeps nothing worth an orderly exit (every answer it gave has
        been read, and unanswered requests are not waited for any more: an interrupted run), and it
        may still be loading its library: Ctrl-C must not wait seconds for that. A later request
        starts a new child."""
        with self._lock:
            child, self._child = self._child, None
        if child is None:
            return
        child.outbox.put(None)
        child.process.kill()
        child.process.wait()


def serve(answer: Callable[[Any], Any]) -> None:
    """The child's side: each line in gets a line out, `answer`'s value for it or its error."""
    # Standard output carries the answers only. What a library prints goes to standard error,
    # even through file descriptor 1 (a C extension, a subprocess): the answers get their own copy.
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        try:
            reply = json.dumps({"answer": answer(json.loads(line))})
        except Exception as error:  # one bad request (or answer) fails that request, not the helper
            reply = json.dumps({"error": f"{type(error).__name__}: {error}"})
        answers.write(reply + "\n")
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
