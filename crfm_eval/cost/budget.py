"""`execution.max_cost`: a run stops before it sends the request that could take it over budget.

Before a request goes to the model, the most it can cost is reserved: its prompt tokens plus
`max_tokens` for every completion, at the model's price. A request the cache answers costs
nothing and reserves nothing. Once answered, the reservation is replaced by what the call cost
(`usage.billed_tokens`). Reserving the most keeps the promise with requests in flight on several
threads: the spent and the reserved together never pass the budget. The first request that does
not fit stops the run: no later request is sent (the executor waits for the ones in flight, whose
results reach the cache, and then raises `BudgetExceeded`).
"""

import dataclasses
import threading

from crfm_eval.cost.usage import billed_tokens, dollars, max_completion_tokens
from crfm_eval.errors import UserError
from crfm_eval.models.service import Service
from crfm_eval.specs import PriceSpec
from crfm_eval.states import RequestResult, RequestState


class BudgetExceeded(UserError):
    """The next request could take the run over `execution.max_cost`; nothing more is sent."""

    def __init__(self, max_cost: float, spent: float, num_calls: int) -> None:
        super().__init__(f"execution.max_cost=${max_cost:g} reached after ${spent:.6f} on {num_calls} model calls")
        self.max_cost, self.spent, self.num_calls = max_cost, spent, num_calls


def max_request_cost(price: PriceSpec, state: RequestState, continuation_tokens: int = 0) -> float:
    """The most `state`'s request can cost: its prompt (and the continuation it scores) and every
    completion token it may generate."""
    return dollars(price, state.num_prompt_tokens + continuation_tokens, max_completion_tokens(state))


class Budget:
    """Shared by the executor's threads: `call` sends a request only if its most fits in what is left."""

    def __init__(self, max_cost: float, price: PriceSpec, service: Service, model: str) -> None:
        self.max_cost, self.price, self.service, self.model = max_cost, price, service, model
        self.spent = 0.0
        self.num_calls = 0
        self._reserved = 0.0
        self._exhausted = False
        self._lock = threading.Lock()

    def call(self, state: RequestState) -> RequestResult:
        """The result of `state`'s request (from the cache, or from the model if the budget allows);
        raises BudgetExceeded, without sending it, if it does not."""
        request = state.request
        hit = self.service.cached_result(request)
        if hit is not None:
            return hit
        continuation = self.service.count_tokens(self.model, request.continuation) if request.continuation else 0
        most = max_request_cost(self.price, state, continuation)
        with self._lock:
            # Once a request did not fit, none is sent: a smaller one later would reorder the run.
            if self._exhausted or self.spent + self._reserved + most > self.max_cost:
                self._exhausted = True
                raise BudgetExceeded(self.max_cost, self.spent, self.num_calls)
            self._reserved += most
        cost, called = 0.0, True
        try:
            result = self.service.make_request(request)
            called = not result.cached  # another thread or process may have stored it meanwhile
            if called:
                cost = dollars(self.price, *billed_tokens(dataclasses.replace(state, result=result)))
        finally:
            with self._lock:
                self._reserved -= most
                self.spent += cost
                self.num_calls += called
        return result
