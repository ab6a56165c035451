"""The Executor controller: request states go in, the same states with their results come out, in order.

Threads, not asyncio: every client is a blocking `make_request` (llama.cpp, the AI21 SDK, HTTP),
and what limits a run with many requests in flight is the CPU each request costs this process
under the GIL, not the number of waits it can overlap. Measured with bench/request_rate.py, that
cost came from the client and the cache (the OpenAI SDK's ~2 ms per call, a commit and a queued
read per result), so those were made cheaper instead (`openai_client`, `group_commit`); an event
loop would have needed a second, async, implementation of every client.

States are consumed lazily and results handed back in the order of the states, holding at most
`WINDOW_PER_THREAD` x `num_threads` states at once (in flight, or done and waiting for an earlier
one): memory does not grow with the run, and the run's files are written in a deterministic order.

A result the cache already holds is taken in this thread, without a hand-off to a worker (for a
rerun from the cache the hand-off cost more than the lookup), as long as the cache keeps having
the results: a run that finds nothing there stops looking twice.

Workers are daemon threads: on Ctrl-C (or any error) the executor stops handing out requests and
returns at once, without waiting for the calls in flight (a model call can take a minute); their
results are not used, and those that finish are in the cache for the next run.
"""

import dataclasses
import logging
import queue
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Optional

from crfm_eval.cost.budget import Budget, BudgetExceeded
from crfm_eval.errors import UserError
from crfm_eval.execution.progress import progress
from crfm_eval.models.service import Service
from crfm_eval.specs import ExecutionSpec
from crfm_eval.states import RequestResult, RequestState, ScenarioState

log = logging.getLogger(__name__)

MISSES_BEFORE_LEAVING_HITS_TO_WORKERS = 64
"""After this many cache misses in a row, this thread stops looking in the cache first (a cold
run would look twice per request): the workers' own lookup still finds any hit."""

WINDOW_PER_THREAD = 16
"""States held per thread: enough that one slow request (a retry after a 429) does not leave the
other threads idle while later results wait for it."""


@dataclasses.dataclass
class _Job:
    state: RequestState
    result: Optional[RequestResult] = None
    error: Optional[BaseException] = None
    done: bool = False


class Executor:
    def __init__(self, spec: ExecutionSpec, service: Service, budget: Optional[Budget] = None) -> None:
        if spec.num_threads < 1:
            raise UserError(f"execution.num_threads must be at least 1, not {spec.num_threads}.")
        self.spec = spec
        self.service = service
        self.budget = budget
        """When set, every request that reaches a worker goes through it (`execution.max_cost`)."""
        self.num_succeeded = 0
        """Requests answered with success so far (results the cache keeps), including ones not yet handed back."""
        self._count_lock = threading.Lock()

    def execute(self, states: Iterable[RequestState], total: Optional[int]) -> Iterator[RequestState]:
        """Each of `states` (`total` of them if known, for the progress bar) with its result; failed
        requests carry a failed result, a bug in a client or service is raised here."""
        work: queue.SimpleQueue[Optional[_Job]] = queue.SimpleQueue()
        finished: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        stop = threading.Event()
        workers: list[threading.Thread] = []
        window: deque[_Job] = deque()
        limit = WINDOW_PER_THREAD * self.spec.num_threads
        source = iter(states)
        exhausted = False
        misses = 0
        try:
            with progress(total, "requests", self.spec.progress) as tracker:
                while True:
                    while not exhausted and len(window) < limit:
                        state = next(source, None)  # adapts the next instance: overlaps the calls in flight
                        if state is None:
                            exhausted = True
                            break
                        if misses < MISSES_BEFORE_LEAVING_HITS_TO_WORKERS:
                            hit = self.service.cached_result(state.request)
                            if hit is not None:  # no hand-off to a thread for a cache hit: it would cost more
                                window.append(_Job(state, hit, done=True))
                                self._count(hit)
                                misses = 0
                                continue
                            misses += 1
                        if not workers:
                            workers += [
                                self._start_worker(index, work, finished, stop)
                                for index in range(self.spec.num_threads)
                            ]
                        window.append(_Job(state))
                        work.put(window[-1])
                    if not window:
                        return
                    if not window[0].done:
                        finished.get()  # some request finished (maybe not the first one): look again
                        continue
                    job = window.popleft()
                    if job.error is not None:
                        if isinstance(job.error, BudgetExceeded):
                            # The calls in flight are paid for: let them reach the cache before stopping.
                            self._stop_workers(workers, work, stop, wait=True)
                        raise job.error
                    tracker.advance()
                    yield dataclasses.replace(job.state, result=job.result)
        finally:
            self._stop_workers(workers, work, stop, wait=False)

    @staticmethod
    def _stop_workers(
        workers: list[threading.Thread], work: "queue.SimpleQueue[Optional[_Job]]", stop: threading.Event, wait: bool
    ) -> None:
        """No new request starts (finished, failed, interrupted or abandoned); with `wait`, returns
        once the requests already sent are answered."""
        stop.set()
        for _ in workers:
            work.put(None)
        if wait:
            for worker in workers:
                worker.join()

    def execute_all(self, scenario_state: ScenarioState) -> ScenarioState:
        """The same ScenarioState with a result in every request state (for states held in memory)."""
        states = scenario_state.request_states
        return dataclasses.replace(scenario_state, request_states=list(self.execute(states, len(states))))

    def _count(self, result: RequestResult) -> None:
        if result.success:
            with self._count_lock:
                self.num_succeeded += 1

    def _start_worker(
        self,
        index: int,
        work: "queue.SimpleQueue[Optional[_Job]]",
        finished: "queue.SimpleQueue[_Job]",
        stop: threading.Event,
    ) -> threading.Thread:
        worker = threading.Thread(target=self._work, args=(work, finished, stop), name=f"request-{index}", daemon=True)
        worker.start()
        return worker

    def _work(
        self, work: "queue.SimpleQueue[Optional[_Job]]", finished: "queue.SimpleQueue[_Job]", stop: threading.Event
    ) -> None:
        while True:
            job = work.get()
            if job is None or stop.is_set():
                return
            try:
                if self.budget is None:
                    job.result = self.service.make_request(job.state.request)
                else:
                    job.result = self.budget.call(job.state)
            except BaseException as error:  # a bug, or a UserError from a proxy: raised in the caller's thread
                job.error = error
            else:
                self._count(job.result)
            job.done = True
            finished.put(job)


def failed(state: RequestState) -> bool:
    return state.result is None or not state.result.success
