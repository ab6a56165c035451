"""Is the difference between two entries real? A paired test on the instances both were asked.

Two entries evaluated on the same instances are compared instance by instance, which is far more
sensitive than comparing two confidence intervals (overlapping intervals do not mean "no
difference"). Values are matched by instance id on one split, after averaging each instance over
its train trials (as stats.json does).

- When every value is 0 or 1 (accuracy-like metrics with one trial), the test is McNemar's exact
  test: only the instances where exactly one entry is right carry information, and under "no
  difference" each of them is equally likely to favour either entry, so their split is
  Binomial(n_discordant, 1/2). Exact, so valid for the small discordant counts typical of a
  50-instance run, where the chi-square approximation is not.
- Otherwise (several trials, counts, runtimes), the Wilcoxon signed-rank test on the paired
  differences: no normality assumption, robust to the skew of such values.

No correction for multiple comparisons is applied; each pair is judged at ALPHA on its own (the
site says so).
"""

from dataclasses import dataclass
from typing import Optional

from scipy import stats as scipy_stats

ALPHA = 0.05
"""Below this p-value a difference is called significant."""

MCNEMAR = "McNemar exact"
WILCOXON = "Wilcoxon signed-rank"


@dataclass(frozen=True)
class PairedTest:
    """The outcome of comparing entry A with entry B on their shared instances."""

    method: str
    num_pairs: int
    """Instances both entries have a value for."""
    mean_difference: float
    """Mean of A - B over the shared instances."""
    p_value: float
    """Two-sided p-value; 1.0 when the entries never differ."""

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def _is_binary(values: list[float]) -> bool:
    return all(value in (0.0, 1.0) for value in values)


def paired_test(a: dict[str, float], b: dict[str, float]) -> Optional[PairedTest]:
    """Compare per-instance values `a` and `b` (instance id -> value); None without shared instances."""
    shared = sorted(a.keys() & b.keys())
    if not shared:
        return None
    pairs = [(a[instance_id], b[instance_id]) for instance_id in shared]
    differences = [x - y for x, y in pairs]
    mean_difference = sum(differences) / len(differences)
    if _is_binary([value for pair in pairs for value in pair]):
        only_a = sum(1 for x, y in pairs if x > y)
        only_b = sum(1 for x, y in pairs if y > x)
        return PairedTest(MCNEMAR, len(pairs), mean_difference, mcnemar_exact(only_a, only_b))
    nonzero = [difference for difference in differences if difference != 0]
    if not nonzero:
        return PairedTest(WILCOXON, len(pairs), mean_difference, 1.0)
    # zero_method="wilcox" drops zero differences, as the classic test does; ties among the rest
    # get mid-ranks and scipy switches to the normal approximation with a tie correction.
    result = scipy_stats.wilcoxon(differences, zero_method="wilcox")
    return PairedTest(WILCOXON, len(pairs), mean_difference, float(result.pvalue))


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (A right only, B right only)."""
    discordant = only_a + only_b
    if discordant == 0:
        return 1.0
    return float(scipy_stats.binomtest(only_a, discordant, 0.5, alternative="two-sided").pvalue)
