"""What every client does the same way for a log-likelihood request (`Request.continuation` set).

The context and the continuation are tokenized apart and the token ids concatenated, as
lm-evaluation-harness does, so the continuation's tokens are exactly the continuation even when a
tokenizer would merge text across the boundary. Before that, whitespace at the end of the context
moves to the start of the continuation (lm-eval's `_encode_pair`): "Answer: " + "yes" is scored as
"Answer:" + " yes", the way BPE tokenizers see a word after a space.
"""

from crfm_eval.states import Completion, Request, Token


def split_for_scoring(request: Request) -> tuple[str, str]:
    """(context, continuation) of a log-likelihood request, trailing context whitespace moved over."""
    context, continuation = request.prompt, request.continuation or ""
    stripped = context.rstrip()
    return stripped, context[len(stripped) :] + continuation


def continuation_completion(tokens: list[Token]) -> Completion:
    """The one completion of a log-likelihood result: the continuation's tokens and their total."""
    return Completion(
        text="".join(token.text for token in tokens),
        logprob=sum(token.logprob for token in tokens),
        tokens=tokens,
        finish_reason=None,
    )
