"""A 200 whose body is not a valid answer (not JSON, or JSON of the wrong shape) is a failure to retry.

Servers behind load balancers and proxies do answer 200 with an HTML error page, a truncated body or
an empty one. Taken at face value such a body either crashed the conversion (the request failed,
unretried) or, worse, turned into a "successful" completion whose text is a number or null, which
the cache would have kept forever. A client runs its conversion through `converted` and its result
through `checked`; both raise MalformedResponse, which the clients retry like a 5xx.
"""

import math
from typing import Any, Callable, TypeVar

from crfm_eval.models.clients.client import ClientError
from crfm_eval.states import RequestResult

T = TypeVar("T")


class MalformedResponse(ClientError):
    """The server answered, but not with a valid response (retried like a server error)."""


def converted(convert: Callable[[], T], source: str) -> T:
    """`convert()`, with the errors a body of the wrong shape causes (a missing field, a string
    where a list was expected, JSON that does not parse) reported as MalformedResponse."""
    try:
        return convert()
    except (AttributeError, TypeError, KeyError, IndexError, ValueError) as error:
        raise MalformedResponse(f"{source} answered with a body that is not a valid response ({error})") from error


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def checked(result: RequestResult, source: str) -> RequestResult:
    """`result` if every completion holds the types the rest of the system relies on."""

    def fail(what: str) -> None:
        raise MalformedResponse(f"{source} answered 200 with {what}")

    if not result.completions:
        fail("no completion")
    for completion in result.completions:
        # Typed as text and numbers, but built from whatever the server sent: checked as Any.
        text: Any = completion.text
        finish_reason: Any = completion.finish_reason
        if not isinstance(text, str):
            fail(f"a completion text that is not a string ({text!r:.40})")
        if not _is_number(completion.logprob):
            fail(f"a completion logprob that is not a number ({completion.logprob!r:.40})")
        if finish_reason is not None and not isinstance(finish_reason, str):
            fail(f"a finish reason that is not a string ({finish_reason!r:.40})")
        for token in completion.tokens:
            token_text: Any = token.text
            if not isinstance(token_text, str) or not _is_number(token.logprob):
                fail("a token without text or logprob")
            if not all(isinstance(k, str) and _is_number(v) for k, v in token.top_logprobs.items()):
                fail("top logprobs that are not text and numbers")
    return result
