"""Fitting a prompt into the model's context window, counted with the model's own tokenizer.

In-context examples are dropped first (from the end of the list); if the prompt with no example
still does not fit, the sampling's `cut_alone` cuts it. Ours (`cut_input_start`) drops tokens from
the start of the eval input, which keeps its end (for BoolQ, the question) next to the answer
prefix; HELM's keeps the first tokens of the whole prompt (helm_sampling.py).
"""

from dataclasses import dataclass
from typing import Callable, Optional

from crfm_eval.adaptation.prompt import GENERATION_FORMAT, PromptFormat, build_prompt
from crfm_eval.errors import UserError
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Instance

Tokenize = Callable[[str], list[str]]
CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class FittedPrompt:
    text: str
    examples: list[Instance]
    num_tokens: int
    truncated: bool


def token_budget(spec: AdaptationSpec, max_sequence_length: int, reserved_tokens: Optional[int] = None) -> int:
    """How many tokens a prompt may have: the window minus the room kept after it (by default the
    tokens the model may generate)."""
    reserved = spec.max_tokens if reserved_tokens is None else reserved_tokens
    budget = max_sequence_length - reserved
    if budget <= 0:
        raise UserError(
            f"adaptation.max_tokens={spec.max_tokens} leaves no room for a prompt in a context of "
            f"{max_sequence_length} tokens; lower adaptation.max_tokens."
            if reserved_tokens is None
            else f"An answer of {reserved} tokens leaves no room for a prompt in a context of {max_sequence_length} tokens."
        )
    return budget


@dataclass(frozen=True)
class TooLong:
    """An eval instance whose prompt does not fit in `budget` tokens even with no example: what a
    `CutAlone` needs to cut it (`num_tokens`: the prompt's count with no example)."""

    spec: AdaptationSpec
    eval_instance: Instance
    tokenize: Tokenize
    count: CountTokens
    budget: int
    num_tokens: int
    max_sequence_length: int
    prompt_format: PromptFormat


CutAlone = Callable[[TooLong], FittedPrompt]
"""How a sampling cuts an eval instance too long on its own: the one step in which ours and HELM's differ."""


def fit_prompt(
    spec: AdaptationSpec,
    examples: list[Instance],
    eval_instance: Instance,
    tokenize: Tokenize,
    max_sequence_length: int,
    prompt_format: PromptFormat = GENERATION_FORMAT,
    reserved_tokens: Optional[int] = None,
    count_tokens: Optional[CountTokens] = None,
    cut_alone: Optional[CutAlone] = None,
) -> FittedPrompt:
    """The prompt with the most in-context examples (dropped from the end) that fits; with none that
    fits, the eval instance alone cut by `cut_alone` (default `cut_input_start`).
    `reserved_tokens` (default adaptation.max_tokens) is the room kept after the prompt: the
    generated tokens, or the longest continuation a log-likelihood request scores.
    `count_tokens(text)` must equal `len(tokenize(text))`; a client may count faster than it tokenizes."""
    count = count_tokens or (lambda text: len(tokenize(text)))
    budget = token_budget(spec, max_sequence_length, reserved_tokens)
    num_tokens = 0
    for kept in range(len(examples), -1, -1):
        text = build_prompt(spec, examples[:kept], eval_instance, prompt_format=prompt_format)
        num_tokens = count(text)
        if num_tokens <= budget:
            return FittedPrompt(text, examples[:kept], num_tokens, truncated=False)
    too_long = TooLong(spec, eval_instance, tokenize, count, budget, num_tokens, max_sequence_length, prompt_format)
    return (cut_alone or cut_input_start)(too_long)


def cut_input_start(too_long: TooLong) -> FittedPrompt:
    """Ours: drop tokens from the start of the eval input until the prompt fits."""
    spec, eval_instance, count, budget = too_long.spec, too_long.eval_instance, too_long.count, too_long.budget
    input_tokens = too_long.tokenize(eval_instance.input)
    overflow = too_long.num_tokens - budget
    for extra in range(0, len(input_tokens) + 1, max(1, len(input_tokens) // 50)):
        shortened = "".join(input_tokens[min(len(input_tokens), overflow + extra) :])
        text = build_prompt(spec, [], eval_instance, shortened, too_long.prompt_format)
        num_tokens = count(text)
        if num_tokens <= budget:
            return FittedPrompt(text, [], num_tokens, truncated=True)
    raise UserError(
        f"Even an empty input does not fit in {too_long.max_sequence_length} tokens with adaptation.max_tokens="
        f"{spec.max_tokens}; shorten the prompt pieces (instructions, prefixes) or lower max_tokens."
    )
