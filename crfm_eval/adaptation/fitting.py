"""Fitting a prompt into the model's context window, counted with the model's own tokenizer.

In-context examples are dropped first (from the end of the list); if the prompt with no example
still does not fit, the eval instance's input loses tokens from its start, which keeps the end of
the input (for BoolQ, the question) next to the answer prefix.
"""

from dataclasses import dataclass
from typing import Callable, Optional

from crfm_eval.adaptation.prompt import GENERATION_FORMAT, PromptFormat, build_prompt
from crfm_eval.errors import UserError
from crfm_eval.specs import AdaptationSpec
from crfm_eval.states import Instance

Tokenize = Callable[[str], list[str]]


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


def drop_examples_to_fit(
    spec: AdaptationSpec,
    examples: list[Instance],
    eval_instance: Instance,
    count: Callable[[str], int],
    budget: int,
    prompt_format: PromptFormat,
) -> tuple[Optional[FittedPrompt], int]:
    """The prompt with the most in-context examples (dropped from the end) that fits in `budget`
    tokens, or None and the token count of the prompt with no example: the first step of both our
    fitting and HELM's, which differ only in how they cut an eval instance too long on its own."""
    num_tokens = 0
    for kept in range(len(examples), -1, -1):
        text = build_prompt(spec, examples[:kept], eval_instance, prompt_format=prompt_format)
        num_tokens = count(text)
        if num_tokens <= budget:
            return FittedPrompt(text, examples[:kept], num_tokens, truncated=False), num_tokens
    return None, num_tokens


def fit_prompt(
    spec: AdaptationSpec,
    examples: list[Instance],
    eval_instance: Instance,
    tokenize: Tokenize,
    max_sequence_length: int,
    prompt_format: PromptFormat = GENERATION_FORMAT,
    reserved_tokens: Optional[int] = None,
    count_tokens: Optional[Callable[[str], int]] = None,
) -> FittedPrompt:
    """`reserved_tokens` (default adaptation.max_tokens) is the room kept after the prompt: the
    generated tokens, or the longest continuation a log-likelihood request scores.
    `count_tokens(text)` must equal `len(tokenize(text))`; a client may count faster than it tokenizes."""
    count = count_tokens or (lambda text: len(tokenize(text)))
    budget = token_budget(spec, max_sequence_length, reserved_tokens)
    fitted, num_tokens = drop_examples_to_fit(spec, examples, eval_instance, count, budget, prompt_format)
    if fitted is not None:
        return fitted
    # Even alone the eval instance is too long: drop tokens from the start of its input.
    input_tokens = tokenize(eval_instance.input)
    overflow = num_tokens - budget
    for extra in range(0, len(input_tokens) + 1, max(1, len(input_tokens) // 50)):
        shortened = "".join(input_tokens[min(len(input_tokens), overflow + extra) :])
        text = build_prompt(spec, [], eval_instance, shortened, prompt_format)
        num_tokens = count(text)
        if num_tokens <= budget:
            return FittedPrompt(text, [], num_tokens, truncated=True)
    raise UserError(
        f"Even an empty input does not fit in {max_sequence_length} tokens with adaptation.max_tokens="
        f"{spec.max_tokens}; shorten the prompt pieces (instructions, prefixes) or lower max_tokens."
    )
