"""OpenAI models, and any server that speaks OpenAI's API (vLLM, Ollama, llama.cpp's server), over
that API's HTTP wire format with urllib3.

`api: completions` sends the prompt as is (logprobs of generated tokens, `echo` for prompt logprobs);
`api: chat` sends it as one user message. One prompt per call: some compatible servers fail on a
list of prompts. 408, 409, 429, 5xx, timeouts, dropped connections and 200s whose body is not a
valid response (response_checks.py) are retried with bounded exponential backoff that honours
Retry-After (`retrying.call_with_retries`), up to `max_retries` times; a request that still fails
is reported failed, not cached.

Log-likelihood requests (completions only; chat APIs give no prompt logprobs) send context +
continuation with `echo=true`, `logprobs` and `max_tokens=1`, as lm-evaluation-harness does:
llama.cpp's server reads `max_tokens=0` as "no limit", and the one generated token is dropped. The
continuation's tokens are the echoed tokens from its first character on (by `text_offset`); a
server whose tokenizer merges the end of the context with the continuation is refused, since
without the model's tokenizer here the two cannot be tokenized apart.

Why not the official `openai` SDK (which this client used before): measured on this 2-core machine,
importing it takes 0.7-1.3 s (it builds pydantic models for every endpoint of the API), and each call
costs ~2 ms of this process's CPU (request transformation, httpx, response models) against ~0.4 ms
with urllib3. Under the GIL that caps one run at ~500 requests/s whatever the number of threads,
and the import alone was a third of a short run (see bench/request_rate.py). The two endpoints
used here are small, stable JSON documents.
"""

import json
import urllib.request
from typing import Any, Callable, Optional
from urllib.parse import urlsplit

import orjson
import urllib3

from crfm_eval.errors import UserError
from crfm_eval.models.clients.approximate_tokens import approximate_token_count, approximate_tokens
from crfm_eval.models.clients.client import Client, ClientError, UpstreamTimeout
from crfm_eval.models.clients.log_likelihood import continuation_completion, split_for_scoring
from crfm_eval.models.clients.response_checks import MalformedResponse, checked, converted
from crfm_eval.models.clients.retrying import RetryAfterMemory, call_with_retries
from crfm_eval.models.credentials import Credentials
from crfm_eval.states import Completion, Request, RequestResult, Token

OPENAI_URL = "https://api.openai.com/v1"
MAX_TOP_LOGPROBS = {"completions": 5, "chat": 20}
"""The API's limits on alternatives per token."""
PATHS = {"completions": "/completions", "chat": "/chat/completions"}
RETRYABLE_STATUS = frozenset({408, 409, 429})
"""Retried besides every 5xx (the statuses the official SDK retries)."""
MAX_IDLE_CONNECTIONS = 256
"""Kept-alive connections per server: more than any sensible `execution.num_threads`."""


class HTTPStatusError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


def _pool_manager(url: str) -> urllib3.PoolManager:
    """A connection pool, through the proxy the environment names (HTTPS_PROXY, NO_PROXY...) if any,
    as the SDK's httpx does."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return urllib3.ProxyManager(proxy, maxsize=MAX_IDLE_CONNECTIONS)
    return urllib3.PoolManager(maxsize=MAX_IDLE_CONNECTIONS)


class OpenAIClient(Client):
    exact_tokenizer = False  # approximate_tokens: the provider's tokenizer is not at hand

    def __init__(
        self,
        model: str,
        api: str = "completions",
        base_url: Optional[str] = None,
        timeout_seconds: float = 120.0,
        max_retries: int = 4,
        credentials: Optional[Credentials] = None,
    ) -> None:
        """`model` is the upstream name (e.g. `gpt-4o-mini`); `base_url` points at a compatible server,
        which needs no real key."""
        if api not in MAX_TOP_LOGPROBS:
            raise UserError(f"model.args.api={api!r} is not supported; use 'completions' or 'chat'.")
        key = (credentials or Credentials()).get("openai_api_key", "OPENAI_API_KEY")
        if not key and base_url is None:
            raise UserError("No OpenAI API key: set OPENAI_API_KEY or openai_api_key in credentials.yaml.")
        self.model, self.api, self.base_url, self.max_retries = model, api, base_url, max_retries
        self._source = base_url or OPENAI_URL
        self._url = self._source.rstrip("/") + PATHS[api]
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key or 'not-needed'}"}
        self._timeout = urllib3.Timeout(total=timeout_seconds)
        self._http = _pool_manager(self._url)
        self._retry_after = RetryAfterMemory()

    def cache_identity(self) -> dict[str, Any]:
        return {"base_url": self._source, "upstream_model": self.model, "api": self.api}

    def tokenize(self, text: str) -> list[str]:
        return approximate_tokens(text)

    def count_tokens(self, text: str) -> int:
        return approximate_token_count(text)

    @classmethod
    def scores_text(cls, args: dict[str, Any]) -> bool:
        return args.get("api", "completions") == "completions"

    def make_request(self, request: Request) -> RequestResult:
        top_k = min(request.top_k_per_token, MAX_TOP_LOGPROBS[self.api])
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "n": request.num_completions,
        }
        if request.stop_sequences:
            body["stop"] = request.stop_sequences
        if request.seed is not None:
            body["seed"] = request.seed
        if self.api == "completions":
            body.update(prompt=request.prompt, echo=request.echo_prompt, logprobs=top_k)
            parse: Callable[[Any], Completion] = _from_completion_choice
        else:
            if request.echo_prompt:
                raise ClientError("echo_prompt needs model.args.api=completions")
            body.update(messages=[{"role": "user", "content": request.prompt}], logprobs=top_k > 0)
            if top_k > 0:
                body["top_logprobs"] = top_k
            parse = _from_chat_choice
        return self._with_retries(
            body, lambda data: RequestResult(success=True, completions=[parse(choice) for choice in data["choices"]])
        )

    def log_likelihood(self, request: Request) -> RequestResult:
        if self.api != "completions":
            raise ClientError("log-likelihood requests need model.args.api=completions")
        context, continuation = split_for_scoring(request)
        if not context:
            raise ClientError("an OpenAI-compatible server gives no logprob for the first token: give a context")
        body = {
            "model": self.model,
            "prompt": context + continuation,
            "echo": True,
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": max(1, min(request.top_k_per_token, MAX_TOP_LOGPROBS["completions"])),
        }
        return self._with_retries(body, lambda data: self._scored(request, context, continuation, data))

    def _scored(self, request: Request, context: str, continuation: str, data: dict[str, Any]) -> RequestResult:
        text = context + continuation
        logprobs = data["choices"][0].get("logprobs") or {}
        if not logprobs.get("tokens") or logprobs.get("text_offset") is None:
            raise ClientError(f"{self._source} returned no prompt logprobs for echo=true")
        tops = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
        tokens = []
        rows = zip(logprobs["tokens"], logprobs["text_offset"], logprobs["token_logprobs"], tops, strict=False)
        for piece, offset, logprob, alternatives in rows:
            if offset >= len(text):
                break  # the generated token
            if offset < len(context):
                if offset + len(piece) > len(context):
                    raise ClientError(
                        f"the server's tokenizer merges the end of the context with the continuation {continuation!r}"
                    )
                continue
            if logprob is None:
                raise ClientError(f"{self._source} returned no logprob for the token {piece!r}")
            top = dict(alternatives or {}) if request.top_k_per_token > 0 else {}
            tokens.append(Token(piece, float(logprob), top))
        return RequestResult(success=True, completions=[continuation_completion(tokens)])

    def _with_retries(
        self, body: dict[str, Any], result_of: Callable[[dict[str, Any]], RequestResult]
    ) -> RequestResult:
        """POST `body`; the result `result_of` builds from the answer. HTTP failures and answers that
        are not a valid response are retried alike; what still fails raises ClientError."""
        payload = orjson.dumps(body)

        def once() -> RequestResult:
            data = self._post(payload)
            return checked(converted(lambda: result_of(data), self._source), self._source)

        try:
            return call_with_retries(once, _retryable, lambda: self._retry_after.seconds, self.max_retries + 1)
        except urllib3.exceptions.NewConnectionError as error:  # refused or unresolvable: not a timeout
            raise ClientError(f"cannot connect to {self._source} ({error})") from error
        except urllib3.exceptions.TimeoutError as error:
            raise UpstreamTimeout(f"{self._source} did not answer in time ({error})") from error
        except HTTPStatusError as error:
            raise ClientError(f"{error.status} from {self._source}: {error.message}") from error
        except urllib3.exceptions.HTTPError as error:
            raise ClientError(f"{type(error).__name__} from {self._source}: {error}") from error

    def _post(self, payload: bytes) -> dict[str, Any]:
        response = self._http.request(
            "POST", self._url, body=payload, headers=self._headers, timeout=self._timeout, retries=False
        )
        self._retry_after.remember(response.headers.get("Retry-After"))
        if response.status >= 400:
            raise HTTPStatusError(response.status, _error_message(response))
        try:
            data = orjson.loads(response.data)
        except orjson.JSONDecodeError as error:
            raise MalformedResponse(f"{self._source} answered with a body that is not JSON ({error})") from error
        if not isinstance(data, dict):
            raise MalformedResponse(f"{self._source} answered with JSON that is not an object")
        return data


def _retryable(error: BaseException) -> bool:
    if isinstance(error, HTTPStatusError):
        return error.status in RETRYABLE_STATUS or error.status >= 500
    # A 200 that is not a valid answer; timeouts, refused or dropped connections.
    return isinstance(error, (MalformedResponse, urllib3.exceptions.HTTPError))


def _error_message(response: urllib3.BaseHTTPResponse) -> str:
    text = response.data.decode("utf-8", errors="replace")
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return text[:200]
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(error if error is not None else text[:200])


def _from_completion_choice(choice: dict[str, Any]) -> Completion:
    logprobs = choice.get("logprobs") or {}
    tokens = []
    if logprobs.get("tokens"):
        top = logprobs.get("top_logprobs") or [None] * len(logprobs["tokens"])
        for text, logprob, alternatives in zip(logprobs["tokens"], logprobs["token_logprobs"], top, strict=False):
            tokens.append(Token(text, float(logprob or 0.0), dict(alternatives or {})))
    return Completion(choice["text"], sum(t.logprob for t in tokens), tokens, choice.get("finish_reason"))


def _from_chat_choice(choice: dict[str, Any]) -> Completion:
    content = (choice.get("logprobs") or {}).get("content") or []
    tokens = [
        Token(
            item["token"],
            float(item["logprob"]),
            {alternative["token"]: float(alternative["logprob"]) for alternative in item.get("top_logprobs") or []},
        )
        for item in content
    ]
    message = choice["message"]
    return Completion(message.get("content") or "", sum(t.logprob for t in tokens), tokens, choice.get("finish_reason"))
