"""The sufficient statistics of a stream of floats (count, sum, sum of squares, min, max) in constant
memory, equal to what `statistics.summarize` computes from the whole list.

Why not keep the values: a run's stats used to keep one float per instance and stat (8 bytes in an
`array`) until the end, for `math.fsum`'s correctly rounded sums: ~14 MB at 100,000 instances, and
memory that grows with the run (bench/streaming_memory.py). `math.fsum` cannot be fed a piece at a
time, but its result is the exact sum rounded once, and the exact sum of finite floats is an integer
multiple of 2**-1074 (the smallest float): kept as a Python integer it grows by a few bits at most,
and rounding it once at the end gives `math.fsum`'s float, bit for bit. Infinities and NaN are kept
apart: one of them makes the sum what `math.fsum` makes it (an infinity, NaN, or ValueError for
both infinities), whatever the finite values, even where those alone would overflow (`math.fsum`
raises OverflowError there or not, depending on the order of the values).
`min` and `max` are taken chunk after chunk starting from the running extreme, which is exactly how
`min` and `max` read the whole list (NaN included).

Values wait in a small chunk (CHUNK floats) and are folded in together: appending to an array is
what the stream pays per value.
"""

import math
from array import array
from itertools import chain
from typing import Optional

CHUNK = 4096
_SMALLEST_EXPONENT = 1074
"""Every finite float is an integer multiple of 2**-1074."""


class RunningSum:
    """`math.fsum` of the values added so far, and their number."""

    __slots__ = ("_chunk", "_exact", "_special", "_folded")

    def __init__(self) -> None:
        self._chunk = array("d")
        self._exact = 0
        """The sum of the folded finite values, in units of 2**-1074."""
        self._special: dict[str, float] = {}
        """The infinities and NaN met (which of them occur is all `math.fsum`'s result depends on)."""
        self._folded = 0

    def add(self, value: float) -> None:
        self._chunk.append(value)
        if len(self._chunk) >= CHUNK:
            self.fold()

    @property
    def count(self) -> int:
        return self._folded + len(self._chunk)

    def fold(self) -> None:
        chunk, self._chunk = self._chunk, array("d")
        self._fold(chunk)

    def _fold(self, chunk: array) -> None:
        exact = 0
        for value in chunk:
            if math.isfinite(value):
                numerator, denominator = value.as_integer_ratio()  # the denominator is a power of two
                exact += numerator << (_SMALLEST_EXPONENT + 1 - denominator.bit_length())
            else:
                self._special[repr(value)] = value
        self._exact += exact
        self._folded += len(chunk)

    def total(self) -> float:
        self.fold()
        if self._special:  # an infinity or NaN decides the sum (both infinities: ValueError, as in fsum)
            return math.fsum(self._special.values())
        # int / int is correctly rounded (to nearest, ties to even), as math.fsum's result is; past
        # the largest float it raises OverflowError, as math.fsum does.
        return self._exact / (1 << _SMALLEST_EXPONENT) if self._exact else 0.0


class RunningStat(RunningSum):
    """Count, sum, sum of squares, min and max of the values added so far."""

    __slots__ = ("_squares", "_low", "_high")

    def __init__(self) -> None:
        super().__init__()
        self._squares = RunningSum()
        self._low: Optional[float] = None
        self._high: Optional[float] = None

    def _fold(self, chunk: array) -> None:
        super()._fold(chunk)
        self._squares._fold(array("d", [value * value for value in chunk]))
        if not chunk:
            return
        if self._low is None or self._high is None:
            self._low, self._high = min(chunk), max(chunk)
        else:
            self._low, self._high = min(chain((self._low,), chunk)), max(chain((self._high,), chunk))

    def sums(self) -> tuple[int, float, float, Optional[float], Optional[float]]:
        """(count, sum, sum of squares, min, max): what `summarize` computes from the whole list."""
        total = self.total()  # folds what waits
        return self.count, total, self._squares.total(), self._low, self._high
