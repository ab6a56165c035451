"""Tokens a model call used, as HELM's proxy counts them: the prompt's tokens plus each completion's,
by the model's own tokenizer."""

from typing import Callable

from crfm_eval.states import Request, RequestResult


def completion_tokens(
    request: Request, result: RequestResult, num_prompt_tokens: int, tokenize: Callable[[str], list[str]]
) -> int:
    """Generated tokens over all completions. An echoed prompt is not counted again (HELM counts it
    twice); a completion without tokens is tokenized from its text."""
    total = 0
    for completion in result.completions:
        if completion.tokens:
            count = len(completion.tokens) - (num_prompt_tokens if request.echo_prompt else 0)
        else:
            text = completion.text
            if request.echo_prompt and text.startswith(request.prompt):
                text = text[len(request.prompt) :]
            count = len(tokenize(text))
        total += max(0, count)
    return total
