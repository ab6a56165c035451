"""Log probabilities and token choice from raw logits, with numpy.

llama-cpp-python's own logprobs (echo=True) sort the whole vocabulary for every token and, on a
model without a BOS token, are shifted by one position; here they come from the logits directly.
"""

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (float32 loses digits over a 262k vocabulary)."""
    logits = logits.astype(np.float64, copy=False)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def top_k(logprobs: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The `k` most likely token ids of one row, most likely first (ties by lower id)."""
    if k <= 0:
        return []
    k = min(k, logprobs.shape[-1])
    candidates = np.argpartition(-logprobs, k - 1)[:k]
    ordered = sorted(candidates.tolist(), key=lambda token: (-logprobs[token], token))
    return [(token, float(logprobs[token])) for token in ordered]


def choose_token(logits: np.ndarray, temperature: float, top_p: float, rng: np.random.Generator) -> int:
    """Greedy at temperature 0; otherwise a draw from the tempered, nucleus-filtered distribution."""
    if temperature <= 0:
        return int(np.argmax(logits))
    probabilities = np.exp(log_softmax(logits / temperature))
    if top_p < 1.0:
        order = np.argsort(-probabilities, kind="stable")
        cumulative = np.cumsum(probabilities[order])
        keep = order[: int(np.searchsorted(cumulative, top_p)) + 1]
        filtered = np.zeros_like(probabilities)
        filtered[keep] = probabilities[keep]
        probabilities = filtered / filtered.sum()
    return int(rng.choice(len(probabilities), p=probabilities))
