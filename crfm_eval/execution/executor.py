"""The Executor controller: a thread pool that gets each RequestState its RequestResult."""

import dataclasses
import logging
from concurrent.futures import ThreadPoolExecutor, as_completed

from crfm_eval.errors import UserError
from crfm_eval.execution.progress import progress
from crfm_eval.models.service import Service
from crfm_eval.specs import ExecutionSpec
from crfm_eval.states import RequestState, ScenarioState

log = logging.getLogger(__name__)


class Executor:
    def __init__(self, spec: ExecutionSpec, service: Service) -> None:
        if spec.num_threads < 1:
            raise UserError(f"execution.num_threads must be at least 1, not {spec.num_threads}.")
        self.spec = spec
        self.service = service

    def execute(self, scenario_state: ScenarioState) -> ScenarioState:
        """The same state with a result in every request state (failed ones say why)."""
        states = list(scenario_state.request_states)

        def run_one(index: int) -> int:
            state = states[index]
            states[index] = dataclasses.replace(state, result=self.service.make_request(state.request))
            return index

        with progress(len(states), "requests", self.spec.progress) as tracker:
            with ThreadPoolExecutor(max_workers=self.spec.num_threads, thread_name_prefix="request") as pool:
                futures = [pool.submit(run_one, index) for index in range(len(states))]
                try:
                    for future in as_completed(futures):
                        future.result()
                        tracker.advance()
                except BaseException:
                    # Ctrl-C or a bug: stop handing out requests; finished results are already cached.
                    for future in futures:
                        future.cancel()
                    raise
        return dataclasses.replace(scenario_state, request_states=states)


def failed_states(states: list[RequestState]) -> list[RequestState]:
    return [state for state in states if state.result is None or not state.result.success]
