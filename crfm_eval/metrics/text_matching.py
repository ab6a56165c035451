"""Comparing a completion to a reference: exact, normalized (quasi) and prefix matches, as in HELM."""

import re
import string

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_text(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD's answer normalization)."""
    text = _ARTICLES.sub(" ", text.lower().translate(_PUNCTUATION))
    return " ".join(text.split())


def exact_match(gold: str, prediction: str) -> float:
    return float(gold.strip() == prediction.strip())


def quasi_exact_match(gold: str, prediction: str) -> float:
    return float(normalize_text(gold) == normalize_text(prediction))


def prefix_exact_match(gold: str, prediction: str) -> float:
    """The completion starts with the reference (a model may go on after a right answer)."""
    return float(prediction.strip().startswith(gold.strip()))


def quasi_prefix_exact_match(gold: str, prediction: str) -> float:
    return float(normalize_text(prediction).startswith(normalize_text(gold)))
