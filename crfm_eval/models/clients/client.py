"""The Client controller: talks to one model, knows nothing of caching or accounts."""

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Optional

from crfm_eval.states import Request, RequestResult


class ClientError(Exception):
    """The model could not answer this request (the request fails; nothing is cached)."""


class UpstreamTimeout(ClientError):
    """The model's server did not answer in time (the proxy says 504 rather than 502)."""


TIMEOUT_ERROR = UpstreamTimeout.__name__
"""How a timed-out request's `error` starts (the Service writes `<exception class>: <message>`)."""


class Client(ABC):
    """Reaches one model. Created from a ModelSpec (`client` class path, `args` as keyword arguments)."""

    exact_tokenizer: ClassVar[bool] = True
    """`tokenize` is the model's own tokenizer; False where it is an estimate (a remote API whose
    tokenizer is not at hand), so that token counts and costs say they are estimates."""

    def cache_identity(self) -> dict[str, Any]:
        """What, besides the request, changes the answer (a base URL, a deployment, a weights file).

        It goes into the cache key; settings that change only speed (threads, latency) stay out so
        that changing them keeps the cache valid.
        """
        return {}

    def context_length(self) -> Optional[int]:
        """The model's context window in tokens, when the client knows it."""
        return None

    @classmethod
    def scores_text(cls, args: dict[str, Any]) -> bool:
        """Whether this client, built with `args`, can give the log-probability of a given text
        (what the separate multiple-choice methods and language modeling ask). Read from the
        class and the config alone, so a run can refuse a method before any request is sent."""
        return False

    @abstractmethod
    def make_request(self, request: Request) -> RequestResult:
        """Ask the model to generate; raise ClientError when it cannot answer."""

    def log_likelihood(self, request: Request) -> RequestResult:
        """Score `request.continuation` after `request.prompt` (see log_likelihood.py): one
        completion whose tokens are exactly the continuation's, each with its log-probability."""
        raise ClientError(f"{type(self).__name__} cannot give the log-probability of a text")

    @abstractmethod
    def tokenize(self, text: str) -> list[str]:
        """The model's tokens of `text` as strings whose concatenation is `text`."""

    def count_tokens(self, text: str) -> int:
        """`len(self.tokenize(text))`; a client that can count without making the tokens says so
        (fitting counts every prompt of a run)."""
        return len(self.tokenize(text))
