"""Counting tokens without making them gives the same count as making them (fitting relies on it)."""

import random

import pytest

from crfm_eval.models.clients.approximate_tokens import approximate_token_count, approximate_tokens
from crfm_eval.models.clients.simple import SimpleClient

# Every kind of character the two tokenizers tell apart: letters, digits, punctuation, ASCII and
# Unicode spaces (no-break, em, ideographic, line and file separators), accented letters.
ALPHABET = [
    "a",
    "Z",
    "7",
    "_",
    "é",
    "ß",
    ".",
    ",",
    "!",
    "(",
    " ",
    "\n",
    "\t",
    "\r",
    "\x0b",
    "\x1c",
    "\x85",
    "\u00a0",
    "\u2003",
    "\u2028",
    "\u3000",
]


@pytest.mark.parametrize(
    "tokenize, count",
    [(SimpleClient().tokenize, SimpleClient().count_tokens), (approximate_tokens, approximate_token_count)],
    ids=["simple", "approximate"],
)
def test_count_equals_the_number_of_tokens(tokenize, count):
    rng = random.Random(16)
    texts = ["", " ", "a", "a ", " a", "Answer: Yes\n", "Passage: one, two.\nQuestion: Is it?\nAnswer:"]
    # Paragraph breaks (the approximate count adds up paragraphs), at the ends and doubled.
    texts += ["\n\n", "\n\n\n", "a\n\nb", "a \n\n b", "a.\n\n.b", "\n\na", "a\n\n", "x\n\n\n\ny", "é\n\n\u00a0\n\n!"]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 24))) for _ in range(20_000)]
    for text in texts:
        assert count(text) == len(tokenize(text)), repr(text)
