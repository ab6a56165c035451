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

With many entries, many pairs are tested at once, and some differences would look significant by
chance. Holm's step-down correction (`holm`) adjusts the p-values for the number of pairs tested
on a scenario and metric: it controls the chance of any false "significant" in that family at
ALPHA, and is uniformly more powerful than Bonferroni. It needs no assumption on how the tests
depend on each other, which matters here (every pair shares its instances with the others).

A scenario with k entries has k(k-1)/2 pairs: `pairwise_tests` computes McNemar's counts for all of
them at once with matrix products, and Wilcoxon's test vectorized over pairs, so that 100 entries
(4,950 pairs) on 3,270 instances take well under a second for a 0/1 metric.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.special import bdtr

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
    p_adjusted: Optional[float] = None
    """The p-value after Holm's correction for the pairs tested with it; None when not corrected."""

    @property
    def decisive_p(self) -> float:
        """The p-value the verdict is based on: the adjusted one when there is one."""
        return self.p_value if self.p_adjusted is None else self.p_adjusted

    @property
    def significant(self) -> bool:
        return self.decisive_p < ALPHA


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
    result = _scipy_stats().wilcoxon(differences, zero_method="wilcox")
    return PairedTest(WILCOXON, len(pairs), mean_difference, float(result.pvalue))


def _scipy_stats():
    """scipy.stats, imported when a Wilcoxon test is needed: it takes seconds to import, which a site
    of 0/1 metrics (McNemar only, from scipy.special) does not pay."""
    from scipy import stats

    return stats


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (A right only, B right only)."""
    return float(mcnemar_matrix(np.array(only_a), np.array(only_b)))


NO_CORRECTION = "none"
HOLM = "holm"
CORRECTIONS = (HOLM, NO_CORRECTION)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th smallest (from 0) of m p-values becomes (m - i) * p, made
    non-decreasing along the order and capped at 1: a pair is significant at ALPHA when its
    adjusted p-value is below ALPHA.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda index: p_values[index])
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def mcnemar_matrix(only_row: np.ndarray, only_column: np.ndarray) -> np.ndarray:
    """Two-sided exact McNemar p-values for arrays of discordant counts (as `mcnemar_exact`, at once).

    Under the null each discordant pair favours either side with probability 1/2, a symmetric
    binomial, so the two-sided p-value is twice the smaller tail, capped at 1 (what
    scipy.stats.binomtest gives for p = 1/2); the tail is scipy.special's binomial CDF.
    """
    only_row = np.rint(only_row).astype(np.int64)  # counts (from matrix products of 0/1 floats)
    only_column = np.rint(only_column).astype(np.int64)
    discordant = only_row + only_column
    smaller = np.minimum(only_row, only_column)
    with np.errstate(invalid="ignore"):  # bdtr(0, 0, p) is nan; that case is 1.0 below
        p = np.minimum(1.0, 2.0 * bdtr(smaller, discordant, 0.5))
    return np.where(discordant == 0, 1.0, p)


def _matrix(values: dict[str, dict[str, float]]) -> np.ndarray:
    """Entries x instances (the union of their ids), NaN where an entry has no value."""
    ids = sorted(set().union(*(by_instance.keys() for by_instance in values.values())))
    column = {instance_id: index for index, instance_id in enumerate(ids)}
    matrix = np.full((len(values), len(ids)), np.nan)
    for row, by_instance in enumerate(values.values()):
        if by_instance:
            count = len(by_instance)
            columns = np.fromiter((column[instance_id] for instance_id in by_instance), dtype=np.int64, count=count)
            matrix[row, columns] = np.fromiter(by_instance.values(), dtype=float, count=count)
    return matrix


def pairwise_tests(
    values: dict[str, dict[str, float]], correction: str = NO_CORRECTION
) -> dict[tuple[str, str], Optional[PairedTest]]:
    """Every ordered pair of entries of `values` (entry -> instance id -> value): (A, B) -> A against B.

    None for a pair without shared instances. With `correction="holm"`, each test carries its
    p-value adjusted over all the pairs tested here.
    """
    entries = list(values)
    matrix = _matrix(values)
    present = ~np.isnan(matrix)
    filled = np.where(present, matrix, 0.0)
    shared = present.astype(float) @ present.T.astype(float)
    # sum over shared instances of (a - b), for every pair at once
    difference_sums = filled @ present.T.astype(float) - present.astype(float) @ filled.T
    first, second = np.triu_indices(len(entries), 1)
    counts = np.rint(shared[first, second]).astype(np.int64)
    if np.all(np.isin(matrix[present], (0.0, 1.0))):
        right = (filled == 1.0).astype(float)
        wrong = (present & (filled == 0.0)).astype(float)
        only_row = right @ wrong.T  # row right, column wrong
        p_values = mcnemar_matrix(only_row, only_row.T)[first, second]
        methods = [MCNEMAR] * len(first)
    else:
        p_values, methods = _wilcoxon_pairs(matrix, present, first, second, counts)
    tested = counts > 0
    adjusted: list[Optional[float]] = [None] * len(first)
    if correction == HOLM:
        tested_pairs = np.flatnonzero(tested).tolist()
        for pair, value in zip(tested_pairs, holm([float(p) for p in p_values[tested]]), strict=True):
            adjusted[pair] = value
    tests: dict[tuple[str, str], Optional[PairedTest]] = {}
    for index, (a, b) in enumerate(zip(first.tolist(), second.tolist(), strict=True)):
        n = int(counts[index])
        if n == 0:
            tests[(entries[a], entries[b])] = tests[(entries[b], entries[a])] = None
            continue
        difference = float(difference_sums[a, b]) / n
        p_value = float(p_values[index])
        tests[(entries[a], entries[b])] = PairedTest(methods[index], n, difference, p_value, adjusted[index])
        tests[(entries[b], entries[a])] = PairedTest(methods[index], n, -difference, p_value, adjusted[index])
    return tests


_WILCOXON_CHUNK = 400
"""Pairs per vectorized Wilcoxon call: bounds the memory of the differences (pairs x instances)."""


def _wilcoxon_pairs(
    matrix: np.ndarray, present: np.ndarray, first: np.ndarray, second: np.ndarray, counts: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """Wilcoxon p-values of the pairs (first[i], second[i]): vectorized over the pairs that share every
    instance (and enough of them for the normal approximation), one by one for the others."""
    p_values = np.ones(len(first))
    methods = [WILCOXON] * len(first)
    vectorizable = []
    for index, (a, b) in enumerate(zip(first.tolist(), second.tolist(), strict=True)):
        if counts[index] == 0:
            continue
        if counts[index] == matrix.shape[1] and counts[index] > 50:
            vectorizable.append(index)
            continue
        keep = present[a] & present[b]
        a_values = {str(i): float(v) for i, v in enumerate(matrix[a, keep])}
        b_values = {str(i): float(v) for i, v in enumerate(matrix[b, keep])}
        test = paired_test(a_values, b_values)
        if test is not None:
            p_values[index], methods[index] = test.p_value, test.method
    for start in range(0, len(vectorizable), _WILCOXON_CHUNK):
        chunk = vectorizable[start : start + _WILCOXON_CHUNK]
        differences = np.stack([matrix[first[index]] - matrix[second[index]] for index in chunk])
        nonzero = np.any(differences != 0, axis=1)
        chunk_p = np.ones(len(chunk))
        if nonzero.any():
            chunk_p[nonzero] = _scipy_stats().wilcoxon(differences[nonzero], axis=1, zero_method="wilcox").pvalue
        p_values[chunk] = chunk_p
    return p_values, methods
