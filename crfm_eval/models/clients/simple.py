"""A tiny deterministic model for tests: it answers by copying from the prompt's own examples.

For a prompt ending in a partial line such as `Answer:`, every earlier line that starts the same
way is an in-context example; the model answers what the example whose text shares the most words
with the final block answered. With no example it repeats the first word of the final block. With
temperature > 0 it picks among the examples with a generator seeded by the request, so repeated
sampling differs while every run stays reproducible. Tokens are whitespace-delimited words.

Log-likelihood requests get numbers a test can compute by hand, exact in binary floating point:
each token of the continuation costs 0.5 per character when its text already occurs in the text
before it (the context and the continuation's earlier tokens), else 1.0 per character. So
" no" after "...Answer: no..." scores -1.5, and after "Answer:" alone -3.0.
"""

import functools
import hashlib
import math
import random
import re
import time
from typing import Any

from crfm_eval.models.clients.client import Client
from crfm_eval.models.clients.log_likelihood import continuation_completion, split_for_scoring
from crfm_eval.states import Completion, Request, RequestResult, Token

_TOKEN = re.compile(r"\s*\S+|\s+")
_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


@functools.lru_cache(maxsize=4096)
def _count_words(paragraph: str) -> int:
    return len(paragraph.split())


class SimpleClient(Client):
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        """Seconds each request sleeps, to imitate a slow model (does not change answers)."""

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(text)

    def count_tokens(self, text: str) -> int:
        # One token per run of non-space (with the space before it), plus trailing space: the same
        # count as tokenize (regex \s and str.split agree on what is space). Runs never cross
        # space, so paragraphs add up, and the in-context examples shared by a trial's prompts are
        # counted once (as in approximate_tokens).
        return sum(_count_words(paragraph) for paragraph in text.split("\n\n")) + text[-1:].isspace()

    @classmethod
    def scores_text(cls, args: dict[str, Any]) -> bool:
        return True

    def log_likelihood(self, request: Request) -> RequestResult:
        if self.latency:
            time.sleep(self.latency)
        context, continuation = split_for_scoring(request)
        tokens, before = [], context
        for piece in self.tokenize(continuation):
            logprob = -(0.5 if piece in before else 1.0) * len(piece)
            tokens.append(Token(piece, logprob, {piece: logprob} if request.top_k_per_token > 0 else {}))
            before += piece
        return RequestResult(success=True, completions=[continuation_completion(tokens)])

    def make_request(self, request: Request) -> RequestResult:
        if self.latency:
            time.sleep(self.latency)
        candidates = self._candidate_answers(request.prompt)
        completions = [self._complete(request, candidates, index) for index in range(request.num_completions)]
        return RequestResult(success=True, completions=completions)

    def _candidate_answers(self, prompt: str) -> list[str]:
        """Answers of the examples, most similar to the final block first (ties keep prompt order)."""
        head, _, last_line = prompt.rpartition("\n")
        if not last_line.strip():
            return [" " + prompt.split()[0]] if prompt.split() else [" "]
        # Each earlier line starting with `last_line` closes an example: (example text, its answer).
        pattern = re.compile(r"^" + re.escape(last_line) + r"(.*)$", re.MULTILINE)
        examples, start = [], 0
        for match in pattern.finditer(head):
            examples.append((head[start : match.start()], match.group(1)))
            start = match.end()
        query = _words(head[start:])
        if not examples:
            first_word = head[start:].split()
            return [" " + first_word[0] if first_word else " "]
        ranked = sorted(range(len(examples)), key=lambda i: -len(query & _words(examples[i][0])))
        return [examples[i][1] for i in ranked]

    def _complete(self, request: Request, candidates: list[str], index: int) -> Completion:
        if request.temperature > 0 and len(candidates) > 1:
            seed_text = f"{request.prompt}|{request.seed}|{request.random}|{index}"
            rng = random.Random(hashlib.sha256(seed_text.encode()).digest())
            answer, logprob = rng.choice(candidates), -math.log(len(candidates))
        else:
            answer, logprob = candidates[0], 0.0
        text, finish_reason = answer + "\n", "length"
        cut = min((text.find(stop) for stop in request.stop_sequences if stop and stop in text), default=-1)
        if cut >= 0:
            text, finish_reason = text[:cut], "stop"
        pieces = self.tokenize(text)
        if len(pieces) > request.max_tokens:
            pieces, finish_reason = pieces[: request.max_tokens], "length"
        tokens = [
            Token(piece, logprob if i == 0 else 0.0, {piece: logprob if i == 0 else 0.0})
            for i, piece in enumerate(pieces)
        ]
        if request.echo_prompt:
            tokens = [Token(piece, 0.0, {piece: 0.0}) for piece in self.tokenize(request.prompt)] + tokens
        return Completion(
            text=(request.prompt if request.echo_prompt else "") + "".join(pieces),
            logprob=sum(token.logprob for token in tokens),
            tokens=tokens,
            finish_reason=finish_reason,
        )
