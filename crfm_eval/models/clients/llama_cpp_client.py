"""Embedded GGUF models run in this process by llama.cpp (llama-cpp-python): no key, no network.

Generation is a short loop over llama.cpp's `eval` and the last position's logits, which gives
greedy or seeded sampling, stop sequences, and the top-k logprobs of each generated token without
`logits_all` (that would cost n_ctx x vocabulary floats and slow every prompt). Consecutive requests
that share a prefix (the same in-context examples) reuse llama.cpp's KV cache for it. Prompt
logprobs (echo_prompt) come from a second context with `logits_all`, created on first use.

Log-likelihood requests (a continuation to score) run in the same context as generation: the
longest prefix shared with the previous request stays in the KV cache, and only the positions
whose logits are needed (the last context token and the continuation) are asked for logits, in
chunks. The choices of one question share their prompt, so after the first choice each costs the
evaluation of a few tokens (see bench/multiple_choice_prefix_reuse.py).
"""

import codecs
import ctypes
import functools
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from crfm_eval.errors import UserError
from crfm_eval.models.clients.client import Client, ClientError
from crfm_eval.models.clients.gguf_models import packaged_model_file
from crfm_eval.models.clients.log_likelihood import continuation_completion, split_for_scoring
from crfm_eval.models.clients.logprobs import choose_token, log_softmax, top_k
from crfm_eval.states import Completion, Request, RequestResult, Token

ECHO_CHUNK_ROWS = 64
"""Prompt positions turned into log-softmax at once (bounds memory on a 262k vocabulary)."""


@dataclass
class LoadedModel:
    """A llama.cpp context and the lock that serializes its use (a context is not thread-safe)."""

    llm: Any
    lock: threading.Lock


@functools.cache
def load_model(path: str, n_ctx: int, n_threads: int, n_batch: int, logits_all: bool) -> LoadedModel:
    """Each model is loaded once per process, however many clients and runs use it."""
    try:
        from llama_cpp import Llama
    except ImportError:
        raise UserError(
            "The embedded models need the optional group `embedded` (llama-cpp-python and the GGUF packages); "
            'run: CMAKE_ARGS="-DLLAVA_BUILD=OFF" pip install "crfm_eval[embedded]"'
        ) from None
    llm = Llama(
        model_path=path,
        n_ctx=n_ctx,
        n_threads=n_threads,
        n_threads_batch=n_threads,
        n_batch=n_batch,
        logits_all=logits_all,
        verbose=False,
    )
    return LoadedModel(llm, threading.Lock())


def _token_texts(byte_pieces: list[bytes]) -> list[str]:
    """Text of each token such that the texts concatenate to the decoded whole; a character split
    across tokens belongs to the token that completes it."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return [decoder.decode(piece) for piece in byte_pieces]


def _sampling_rng(request: Request, completion_index: int) -> np.random.Generator:
    tag = f"{request.seed}|{request.random}|{completion_index}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(tag).digest()[:8], "little"))


class LlamaCppClient(Client):
    def __init__(
        self,
        packaged_model: Optional[str] = None,
        model_path: Optional[str] = None,
        n_ctx: int = 2048,
        n_threads: Optional[int] = None,
        n_batch: int = 512,
    ) -> None:
        """`packaged_model` names a GGUF shipped in a PyPI package (see gguf_models.py); `model_path`
        is any GGUF file on disk. `n_threads` defaults to every core."""
        if (packaged_model is None) == (model_path is None):
            raise UserError(
                "Give the embedded model exactly one of model.args.packaged_model or model.args.model_path."
            )
        self.path = packaged_model_file(packaged_model) if packaged_model else Path(model_path or "")
        if not self.path.is_file():
            raise UserError(f"model.args.model_path={self.path} is not a file; point it at a GGUF model.")
        self.n_ctx = n_ctx
        self._settings = (str(self.path), n_ctx, n_threads or os.cpu_count() or 1, n_batch)
        self._model = load_model(*self._settings, logits_all=False)

    # Identity of the weights: the file's name and size (hashing 100-250 MB on every start costs more).
    def cache_identity(self) -> dict[str, Any]:
        return {"gguf": self.path.name, "gguf_bytes": self.path.stat().st_size}

    def context_length(self) -> int:
        return self.n_ctx

    def encode(self, text: str) -> list[int]:
        """Token ids of `text`, with the BOS token when the model's vocabulary asks for one."""
        return self._model.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)

    def decode(self, token_ids: list[int]) -> str:
        return "".join(self._texts(token_ids))

    def tokenize(self, text: str) -> list[str]:
        return self._texts(self.encode(text))

    def _texts(self, token_ids: list[int]) -> list[str]:
        llm = self._model.llm
        return _token_texts([llm.detokenize([token_id]) for token_id in token_ids])

    @classmethod
    def scores_text(cls, args: dict[str, Any]) -> bool:
        return True

    def _prefix_token(self) -> int:
        """The token an empty context stands for: BOS where the model uses one, else end-of-text
        (lm-evaluation-harness's `prefix_token_id`), so that a document's first token is scored too."""
        llm = self._model.llm
        return llm.token_bos() if self.encode("") else llm.token_eos()

    def log_likelihood(self, request: Request) -> RequestResult:
        context, continuation = split_for_scoring(request)
        context_ids = self.encode(context) if context else []
        context_ids = context_ids or [self._prefix_token()]
        continuation_ids = self._model.llm.tokenize(continuation.encode("utf-8"), add_bos=False, special=False)
        ids = context_ids + continuation_ids
        if len(ids) > self.n_ctx:
            raise ClientError(
                f"the context and continuation have {len(ids)} tokens; they exceed the context of {self.n_ctx}"
            )
        with self._model.lock:
            start = time.perf_counter()
            scored = self._score_continuation(ids, len(context_ids), request.top_k_per_token)
            request_time = time.perf_counter() - start
        texts = _token_texts([self._model.llm.detokenize([token_id]) for token_id in continuation_ids])
        tokens = [Token(text, logprob, top) for text, (logprob, top) in zip(texts, scored, strict=True)]
        return RequestResult(success=True, completions=[continuation_completion(tokens)], request_time=request_time)

    def _shared_prefix_length(self, ids: list[int]) -> int:
        """How many leading tokens of `ids` the KV cache already holds (from the previous request)."""
        llm = self._model.llm
        previous = llm.input_ids[: llm.n_tokens]
        shared = min(len(previous), len(ids))
        mismatches = np.flatnonzero(previous[:shared] != np.asarray(ids[:shared]))
        return int(mismatches[0]) if mismatches.size else shared

    def _score_continuation(self, ids: list[int], first: int, k: int) -> list[tuple[float, dict[str, float]]]:
        """(logprob, top-k alternatives) of each token ids[first:], given the tokens before it."""
        import llama_cpp

        llm = self._model.llm
        # llama.cpp keeps no logits of earlier positions: re-evaluate from the last context token on.
        llm.n_tokens = min(self._shared_prefix_length(ids), first - 1)
        if llm.n_tokens < first - 1:
            llm.eval(ids[llm.n_tokens : first - 1])
        llm._ctx.kv_cache_seq_rm(-1, llm.n_tokens, -1)
        # Rows for positions first-1 .. len-2 (row i predicts token i + 1); the last token is never input.
        inputs = ids[first - 1 : len(ids) - 1]
        scored: list[tuple[float, dict[str, float]]] = []
        for offset in range(0, len(inputs), ECHO_CHUNK_ROWS):
            chunk = inputs[offset : offset + ECHO_CHUNK_ROWS]
            n_past = llm.n_tokens
            llm._batch.set_batch(batch=chunk, n_past=n_past, logits_all=True)
            llm._ctx.decode(llm._batch)
            llm.input_ids[n_past : n_past + len(chunk)] = chunk
            llm.n_tokens += len(chunk)
            pointer = llama_cpp.llama_get_logits(llm.ctx)
            logits = np.ctypeslib.as_array(
                ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(len(chunk), llm.n_vocab())
            )
            for row_index, row in enumerate(log_softmax(logits)):
                target = ids[first + offset + row_index]
                alternatives = {self.decode([alt]): logprob for alt, logprob in top_k(row, k)}
                scored.append((float(row[target]), alternatives))
        return scored

    def make_request(self, request: Request) -> RequestResult:
        prompt_ids = self.encode(request.prompt)
        if len(prompt_ids) + request.max_tokens > self.n_ctx:
            raise ClientError(
                f"the prompt has {len(prompt_ids)} tokens; with max_tokens={request.max_tokens} "
                f"it exceeds the context of {self.n_ctx}"
            )
        prompt_tokens = self._prompt_tokens(prompt_ids, request.top_k_per_token) if request.echo_prompt else []
        completions: list[Completion] = []
        with self._model.lock:
            start = time.perf_counter()  # model time only, not the wait for the lock
            for index in range(request.num_completions):
                if index > 0 and request.temperature <= 0:
                    completions.append(completions[0])  # greedy decoding gives the same text every time
                    continue
                generated = self._generate(prompt_ids, request, _sampling_rng(request, index))
                completions.append(generated)
            request_time = time.perf_counter() - start
        if request.echo_prompt:
            completions = [
                Completion(
                    text=request.prompt + completion.text,
                    logprob=sum(token.logprob for token in prompt_tokens) + completion.logprob,
                    tokens=prompt_tokens + completion.tokens,
                    finish_reason=completion.finish_reason,
                )
                for completion in completions
            ]
        return RequestResult(success=True, completions=completions, request_time=request_time)

    def _evaluate_prompt(self, prompt_ids: list[int]) -> None:
        """Evaluate the prompt, reusing the KV cache of the longest prefix shared with the last one."""
        llm = self._model.llm
        shared = self._shared_prefix_length(prompt_ids)
        # At least the last prompt token is evaluated again: its logits are where generation starts.
        llm.n_tokens = min(shared, len(prompt_ids) - 1)
        llm.eval(prompt_ids[llm.n_tokens :])

    def _last_logits(self) -> np.ndarray:
        import llama_cpp

        llm = self._model.llm
        pointer = llama_cpp.llama_get_logits_ith(llm.ctx, -1)
        return np.ctypeslib.as_array(
            ctypes.cast(pointer, ctypes.POINTER(ctypes.c_float)), shape=(llm.n_vocab(),)
        ).copy()

    def _generate(self, prompt_ids: list[int], request: Request, rng: np.random.Generator) -> Completion:
        import llama_cpp

        llm = self._model.llm
        vocab = llama_cpp.llama_model_get_vocab(llm.model)
        self._evaluate_prompt(prompt_ids)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        tokens: list[Token] = []
        text, finish_reason = "", "length"
        for step in range(request.max_tokens):
            logits = self._last_logits()
            logprobs = log_softmax(logits)
            token_id = choose_token(logits, request.temperature, request.top_p, rng)
            if llama_cpp.llama_vocab_is_eog(vocab, token_id):
                finish_reason = "stop"
                break
            piece = decoder.decode(llm.detokenize([token_id]))
            alternatives = {self.decode([alt]): logprob for alt, logprob in top_k(logprobs, request.top_k_per_token)}
            tokens.append(Token(piece, float(logprobs[token_id]), alternatives))
            text += piece
            stop_at = min((i for i in (text.find(s) for s in request.stop_sequences if s) if i >= 0), default=-1)
            if stop_at >= 0:
                tokens = _tokens_before(tokens, stop_at)
                text, finish_reason = text[:stop_at], "stop"
                break
            if step + 1 < request.max_tokens:
                llm.eval([token_id])
        return Completion(text=text, logprob=sum(t.logprob for t in tokens), tokens=tokens, finish_reason=finish_reason)

    def _prompt_tokens(self, prompt_ids: list[int], k: int) -> list[Token]:
        """Each prompt token with its logprob given the tokens before it. The first token has no
        context (it is BOS, or the model has no BOS): it gets logprob 0 and no alternatives."""
        echo = load_model(*self._settings, logits_all=True)
        texts = self._texts(prompt_ids)
        tokens = [Token(texts[0], 0.0, {})]
        with echo.lock:
            echo.llm.reset()
            echo.llm.eval(prompt_ids)
            scores = echo.llm.scores
            for start in range(0, len(prompt_ids) - 1, ECHO_CHUNK_ROWS):
                rows = log_softmax(scores[start : min(start + ECHO_CHUNK_ROWS, len(prompt_ids) - 1)])
                for offset, row in enumerate(rows):
                    position = start + offset + 1  # row i predicts token i + 1
                    alternatives = {self.decode([alt]): logprob for alt, logprob in top_k(row, k)}
                    tokens.append(Token(texts[position], float(row[prompt_ids[position]]), alternatives))
        return tokens


def _tokens_before(tokens: list[Token], end: int) -> list[Token]:
    """The tokens that start before character `end` of their concatenated text."""
    kept, offset = [], 0
    for token in tokens:
        if offset >= end:
            break
        kept.append(token)
        offset += len(token.text)
    return kept
