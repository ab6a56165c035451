"""What the proxy accepts: the bounds on every input, in one place.

A shared server must answer every input with a status, never with a crash, and must not let one
caller spend the machine: bodies, nesting, text lengths and the work a request asks for are all
bounded. openapi.json states the same numbers (a test compares them), and GET /api/general_info
reports them.
"""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 8 * 1024 * 1024
    """Largest request body (413 above). A 128k-token prompt fits."""

    max_json_depth: int = 16
    """Deepest nesting of arrays and objects in a body (the deepest valid body, quotas, has 4)."""

    max_prompt_chars_per_token: int = 32
    """A prompt may hold at most this many characters per token of the model's context window
    (413 above), so that an absurd prompt is refused before it is tokenized; real text averages
    about 4 characters per token."""

    max_num_completions: int = 100
    max_tokens: int = 1_000_000
    """Upper bound of `max_tokens` whatever the model; besides, prompt plus `max_tokens` must fit the
    model's window (413)."""

    max_top_k_per_token: int = 20
    """The most alternatives per token any provider gives (OpenAI's chat API)."""

    max_temperature: float = 100.0
    max_stop_sequences: int = 16
    max_short_text_chars: int = 1000
    """Length of a stop sequence, the `random` tag, a model name or a group name."""

    max_username_chars: int = 64
    max_quota: int = 2**53
    """Largest quota (exact in JSON numbers and in sqlite's integers)."""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


LIMITS = Limits()

SEED_RANGE = (-(2**63), 2**63 - 1)
"""A seed is a signed 64-bit integer, as providers take it."""
