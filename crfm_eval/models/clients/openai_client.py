"""OpenAI models, and any server that speaks OpenAI's API (vLLM, Ollama, llama.cpp's server), through
the official `openai` SDK.

`api: completions` sends the prompt as is (logprobs of generated tokens, `echo` for prompt logprobs);
`api: chat` sends it as one user message. One prompt per call: some compatible servers fail on a
list of prompts. The SDK retries 408/409/429/5xx and timeouts with exponential backoff, honouring
Retry-After, up to `max_retries` times; a 200 whose body is not a valid response is retried as
often (response_checks.py). A request that still fails is reported failed, not cached.

Log-likelihood requests (completions only; chat APIs give no prompt logprobs) send context +
continuation with `echo=true`, `logprobs` and `max_tokens=1`, as lm-evaluation-harness does:
llama.cpp's server reads `max_tokens=0` as "no limit", and the one generated token is dropped. The
continuation's tokens are the echoed tokens from its first character on (by `text_offset`); a
server whose tokenizer merges the end of the context with the continuation is refused, since
without the model's tokenizer here the two cannot be tokenized apart.
"""

from typing import Any, Callable, Optional

import openai

from crfm_eval.errors import UserError
from crfm_eval.models.clients.approximate_tokens import approximate_tokens
from crfm_eval.models.clients.client import Client, ClientError, UpstreamTimeout
from crfm_eval.models.clients.log_likelihood import continuation_completion, split_for_scoring
from crfm_eval.models.clients.response_checks import MalformedResponse, checked, converted
from crfm_eval.models.clients.retrying import call_with_retries
from crfm_eval.models.credentials import Credentials
from crfm_eval.states import Completion, Request, RequestResult, Token

OPENAI_URL = "https://api.openai.com/v1"
MAX_TOP_LOGPROBS = {"completions": 5, "chat": 20}
"""The API's limits on alternatives per token."""


class OpenAIClient(Client):
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
        self._client = openai.OpenAI(
            api_key=key or "not-needed", base_url=base_url, timeout=timeout_seconds, max_retries=max_retries
        )

    def cache_identity(self) -> dict[str, Any]:
        return {"base_url": self.base_url or OPENAI_URL, "upstream_model": self.model, "api": self.api}

    def tokenize(self, text: str) -> list[str]:
        return approximate_tokens(text)

    @classmethod
    def scores_text(cls, args: dict[str, Any]) -> bool:
        return args.get("api", "completions") == "completions"

    def log_likelihood(self, request: Request) -> RequestResult:
        source = self.base_url or OPENAI_URL
        return call_with_retries(
            lambda: checked(converted(lambda: self._score(request), source), source),
            lambda error: isinstance(error, MalformedResponse),
            lambda: None,
            self.max_retries + 1,
        )

    def _score(self, request: Request) -> RequestResult:
        if self.api != "completions":
            raise ClientError("log-likelihood requests need model.args.api=completions")
        context, continuation = split_for_scoring(request)
        if not context:
            raise ClientError("an OpenAI-compatible server gives no logprob for the first token: give a context")
        text = context + continuation
        response = self._call(
            lambda: self._client.completions.create(
                model=self.model,
                prompt=text,
                echo=True,
                max_tokens=1,
                temperature=0.0,
                logprobs=max(1, min(request.top_k_per_token, MAX_TOP_LOGPROBS["completions"])),
            )
        )
        logprobs = response.choices[0].logprobs
        if logprobs is None or not logprobs.tokens or logprobs.text_offset is None:
            raise ClientError(f"{self.base_url or OPENAI_URL} returned no prompt logprobs for echo=true")
        tops = logprobs.top_logprobs or [None] * len(logprobs.tokens)
        tokens = []
        rows = zip(logprobs.tokens, logprobs.text_offset, logprobs.token_logprobs, tops, strict=False)
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
                raise ClientError(f"{self.base_url or OPENAI_URL} returned no logprob for the token {piece!r}")
            top = dict(alternatives or {}) if request.top_k_per_token > 0 else {}
            tokens.append(Token(piece, float(logprob), top))
        return RequestResult(success=True, completions=[continuation_completion(tokens)])

    def _call(self, create: Callable[[], Any]) -> Any:
        try:
            return create()
        except openai.APITimeoutError as error:
            raise UpstreamTimeout(str(error)) from error
        except openai.APIStatusError as error:
            raise ClientError(f"{error.status_code} from {self.base_url or OPENAI_URL}: {error.message}") from error
        except openai.APIError as error:
            raise ClientError(str(error)) from error

    def make_request(self, request: Request) -> RequestResult:
        source = self.base_url or OPENAI_URL
        return call_with_retries(
            lambda: checked(converted(lambda: self._ask(request), source), source),
            lambda error: isinstance(error, MalformedResponse),
            lambda: None,
            self.max_retries + 1,
        )

    def _ask(self, request: Request) -> RequestResult:
        top_k = min(request.top_k_per_token, MAX_TOP_LOGPROBS[self.api])
        common: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "n": request.num_completions,
            "stop": request.stop_sequences or None,
        }
        if request.seed is not None:
            common["seed"] = request.seed
        try:
            if self.api == "completions":
                response = self._client.completions.create(
                    prompt=request.prompt, echo=request.echo_prompt, logprobs=top_k, **common
                )
                completions = [_from_completion_choice(choice) for choice in response.choices]
            else:
                if request.echo_prompt:
                    raise ClientError("echo_prompt needs model.args.api=completions")
                response = self._client.chat.completions.create(
                    messages=[{"role": "user", "content": request.prompt}],
                    logprobs=top_k > 0,
                    top_logprobs=top_k if top_k > 0 else None,
                    **common,
                )
                completions = [_from_chat_choice(choice) for choice in response.choices]
        except openai.APITimeoutError as error:
            raise UpstreamTimeout(str(error)) from error
        except openai.APIStatusError as error:
            raise ClientError(f"{error.status_code} from {self.base_url or OPENAI_URL}: {error.message}") from error
        except openai.APIError as error:
            raise ClientError(str(error)) from error
        return RequestResult(success=True, completions=completions)


def _from_completion_choice(choice: Any) -> Completion:
    logprobs = choice.logprobs
    tokens = []
    if logprobs is not None and logprobs.tokens:
        top = logprobs.top_logprobs or [None] * len(logprobs.tokens)
        for text, logprob, alternatives in zip(logprobs.tokens, logprobs.token_logprobs, top, strict=False):
            tokens.append(Token(text, float(logprob or 0.0), dict(alternatives or {})))
    return Completion(choice.text, sum(t.logprob for t in tokens), tokens, choice.finish_reason)


def _from_chat_choice(choice: Any) -> Completion:
    content = choice.logprobs.content if choice.logprobs is not None and choice.logprobs.content else []
    tokens = [
        Token(item.token, float(item.logprob), {alt.token: float(alt.logprob) for alt in (item.top_logprobs or [])})
        for item in content
    ]
    return Completion(choice.message.content or "", sum(t.logprob for t in tokens), tokens, choice.finish_reason)
