"""A helper process: a child `python -m MODULE` that loads a heavy library once and answers requests
sent as JSON lines, in order, while the run's process goes on.

Why processes: importing scikit-learn (the offline toxicity model) or scipy (the quantiles of the
confidence intervals) holds the GIL for 0.4-3 s of CPU. In the run's process that time came out of
the requests in flight (bench/request_rate.py: the execute phase lost 0.05-0.3 of the request-rate
limit); in a child it runs on another core, and the run's process never holds those libraries.

The protocol, one JSON line each way per request: the request's value in; `{"answer": ...}` or
`{"error": "..."}` out. JSON escapes any text (a lone surrogate included) and gives floats back
exactly. The child's standard output carries answers only (a library's prints go to standard error,
which goes to a file: a pipe nobody reads would stop the child once 64 KB of warnings were written).
A child ends when its parent closes it (`close`, at exit) or dies (its input closes).
"""

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
    """Answers requests in a child process started on the first one (or by `start`); `submit` never blocks."""

    def __init__(self, module: str, stopped: Callable[[str], str], failed: Callable[[str], str]) -> None:
        """`module` is run as `python -m module` (it calls `serve`); `stopped(reason)` is the sentence
        for a child that ended (could not load its library, or died), `failed(error)` the one for a
        request it could not answer."""
        self.module, self._stopped, self._failed = module, stopped, failed
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen[str]] = None
        self._waiting: deque[Future[Any]] = deque()
        """Futures of the requests sent and not yet answered, in the order they were sent."""
        self._outbox: queue.SimpleQueue[Optional[str]] = queue.SimpleQueue()
        self._failure: Optional[str] = None

    def start(self) -> None:
        """Start the child now, so that it loads its library while the caller does something else."""
        with self._lock:
            if self._process is None and self._failure is None:
                self._start()

    def submit(self, request: Any) -> "Future[Any]":
        """The child's answer to `request`, once it has it. The line is written by a thread of its
        own: the child reads nothing until its library is loaded, and a pipe holds only 64 KB."""
        future: Future[Any] = Future()
        with self._lock:
            if self._failure is not None:
                future.set_exception(UserError(self._failure))
                return future
            if self._process is None:
                self._start()
            self._waiting.append(future)
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
                future = self._waiting.popleft()
            if "answer" in reply:
                future.set_result(reply["answer"])
            else:
                future.set_exception(UserError(self._failed(reply["error"])))
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
        for future in waiting:
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


def serve(load: Callable[[], Callable[[Any], Any]]) -> None:
    """The child's side: `load()` gives the function that answers a request (an ImportError it raises
    ends the child, its message the reason the parent reports); then each line in gets a line out."""
    answers, sys.stdout = sys.stdout, sys.stderr
    try:
        answer = load()
    except ImportError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
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
