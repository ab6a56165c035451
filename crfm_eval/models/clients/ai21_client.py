"""AI21 models (Jamba) through the official `ai21` SDK's chat completions.

The prompt is sent as one user message; completions carry their text and finish reason (no
logprobs). The SDK's own retries ignore Retry-After and 502/504, so they are off and
`retrying.call_with_retries` retries 429, 5xx, timeouts and 200s whose body is not a valid response
(response_checks.py) instead (`max_retries` times), waiting at least what the server's Retry-After
asks; a request that still fails is reported failed.
`api_host` points the SDK at another host speaking AI21's HTTP API (the tests' local server).
"""

from typing import Any, Optional

import httpx
from ai21 import AI21Client as SdkClient
from ai21 import errors as ai21_errors
from ai21.models.chat import ChatMessage
from ai21.types import NOT_GIVEN

from crfm_eval.errors import UserError
from crfm_eval.models.clients.approximate_tokens import approximate_tokens
from crfm_eval.models.clients.client import Client, ClientError, UpstreamTimeout
from crfm_eval.models.clients.response_checks import MalformedResponse, checked, converted
from crfm_eval.models.clients.retrying import RetryAfterMemory, call_with_retries
from crfm_eval.models.credentials import Credentials
from crfm_eval.states import Completion, Request, RequestResult

AI21_URL = "https://api.ai21.com/studio/v1"


class AI21Client(Client):
    exact_tokenizer = False  # approximate_tokens: the provider's tokenizer is not at hand

    def __init__(
        self,
        model: str,
        api_host: Optional[str] = None,
        timeout_seconds: float = 120.0,
        max_retries: int = 4,
        credentials: Optional[Credentials] = None,
    ) -> None:
        key = (credentials or Credentials()).get("ai21_api_key", "AI21_API_KEY")
        if not key:
            raise UserError("No AI21 API key: set AI21_API_KEY or ai21_api_key in credentials.yaml.")
        self.model, self.api_host, self.max_retries = model, api_host, max_retries
        self._retry_after = RetryAfterMemory()
        http_client = httpx.Client(
            timeout=timeout_seconds,
            event_hooks={
                "response": [lambda response: self._retry_after.remember(response.headers.get("Retry-After"))]
            },
        )
        # num_retries=1 is one attempt: the SDK treats 0 as "its default".
        self._client = SdkClient(
            api_key=key, api_host=api_host, timeout_sec=timeout_seconds, num_retries=1, http_client=http_client
        )

    def cache_identity(self) -> dict[str, Any]:
        return {"api_host": self.api_host or AI21_URL, "upstream_model": self.model}

    def tokenize(self, text: str) -> list[str]:
        return approximate_tokens(text)

    def make_request(self, request: Request) -> RequestResult:
        if request.echo_prompt:
            raise ClientError("AI21's chat API cannot echo the prompt")

        source = self.api_host or AI21_URL

        def create() -> RequestResult:
            def ask() -> RequestResult:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=[ChatMessage(role="user", content=request.prompt)],
                    max_tokens=request.max_tokens,
                    temperature=request.temperature,
                    top_p=request.top_p,
                    n=request.num_completions,
                    stop=request.stop_sequences or NOT_GIVEN,
                )
                completions = [
                    Completion(choice.message.content or "", 0.0, [], choice.finish_reason)
                    for choice in response.choices
                ]
                return RequestResult(success=True, completions=completions)

            return checked(converted(ask, source), source)

        try:
            return call_with_retries(create, _retryable, lambda: self._retry_after.seconds, self.max_retries + 1)
        except (ai21_errors.APITimeoutError, httpx.TimeoutException) as error:
            raise UpstreamTimeout(f"{source} did not answer in time") from error
        except ai21_errors.AI21APIError as error:
            raise ClientError(f"{error.status_code} from {source}: {error.details}") from error
        except (ai21_errors.AI21Error, httpx.HTTPError) as error:
            raise ClientError(f"{type(error).__name__} from {source}: {error}") from error


def _retryable(error: BaseException) -> bool:
    if isinstance(error, MalformedResponse):
        return True
    if isinstance(error, ai21_errors.AI21APIError):
        return error.status_code in (408, 429) or error.status_code >= 500
    return isinstance(error, (httpx.TimeoutException, httpx.TransportError))
