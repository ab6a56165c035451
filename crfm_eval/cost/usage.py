"""Tokens and dollars: what one request costs at a model's price, and a run's totals.

A request is billed as providers bill it: prompt tokens (the fitted prompt; for a log-likelihood
request also the scored continuation, which is sent as part of the prompt) and completion tokens
(every token generated, over all completions). Token counts come from the run itself: the prompt's
from the adapter's fitting (the model's own tokenizer where the client has one, else an
estimate, see `Client.exact_tokenizer`), the completion's from the result's tokens. A cached
result costs nothing: its tokens are counted apart.
"""

import math
from array import array
from dataclasses import dataclass
from typing import Any, Optional

from crfm_eval.specs import PriceSpec
from crfm_eval.states import RequestState

PER_TOKENS = 1_000_000
"""Prices are given per million tokens."""


def dollars(price: PriceSpec, prompt_tokens: float, completion_tokens: float) -> float:
    return (prompt_tokens * price.prompt + completion_tokens * price.completion) / PER_TOKENS


def billed_tokens(state: RequestState) -> tuple[int, int]:
    """(prompt tokens, completion tokens) of an executed request state (0, 0 without an answer)."""
    result = state.result
    if result is None or not result.success:
        return 0, 0  # a failed call is not billed by the providers we know
    generated = sum(len(completion.tokens) for completion in result.completions)
    if state.request.is_log_likelihood:
        return state.num_prompt_tokens + generated, 0  # the continuation was sent, nothing generated
    return state.num_prompt_tokens, generated


def max_completion_tokens(state: RequestState) -> int:
    """The most completion tokens the request can be billed for (nothing for a log-likelihood request)."""
    request = state.request
    return 0 if request.is_log_likelihood else request.max_tokens * request.num_completions


def percentile(values: list[float], fraction: float) -> Optional[float]:
    """The `fraction` quantile by linear interpolation between order statistics (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class UsageMeter:
    """A run's tokens, cost and request times, fed every executed request state."""

    price: PriceSpec

    def __post_init__(self) -> None:
        self.prompt_tokens = self.completion_tokens = 0
        self.cached_prompt_tokens = self.cached_completion_tokens = 0
        self.cost = 0.0
        self._request_times = array("d")

    def add(self, state: RequestState) -> float:
        """Counts the state in; returns what its call cost (0 when cached or failed)."""
        prompt, completion = billed_tokens(state)
        result = state.result
        if result is None or not result.success:
            return 0.0
        if result.request_time is not None:
            # A cached result keeps the time of the call that reached the model: a model's latency
            # is known from every result, also in a rerun from the cache.
            self._request_times.append(result.request_time)
        if result.cached:
            self.cached_prompt_tokens += prompt
            self.cached_completion_tokens += completion
            return 0.0
        self.prompt_tokens += prompt
        self.completion_tokens += completion
        cost = dollars(self.price, prompt, completion)
        self.cost += cost
        return cost

    def manifest(self) -> dict[str, Any]:
        """The manifest's `usage`: tokens and dollars of the calls this run made, cached ones apart."""
        times = list(self._request_times)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost, 10),
            "cached_prompt_tokens": self.cached_prompt_tokens,
            "cached_completion_tokens": self.cached_completion_tokens,
            "price": {
                "prompt_per_million_tokens": self.price.prompt,
                "completion_per_million_tokens": self.price.completion,
                "read_on": self.price.read_on,
            },
            "request_seconds": {
                "count": len(times),
                "mean": math.fsum(times) / len(times) if times else None,
                "p95": percentile(times, 0.95),
            },
        }
