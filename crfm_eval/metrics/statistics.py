"""One Stat from a list of per-instance values: count, sum, mean, spread and a 95% confidence interval.

For a proportion (every value 0 or 1 by the metric's definition, e.g. accuracy) the interval is
Wilson's score interval: it stays inside [0, 1] and stays honest at 0% and 100%. For any other
value it is Student's t interval of the mean.
"""

import math
import statistics

from scipy import stats as scipy_stats

from crfm_eval.states import Stat

CONFIDENCE = 0.95


def summarize(name: str, split: str, values: list[float], proportion: bool = False) -> Stat:
    count = len(values)
    if count == 0:
        return Stat(name, split, 0, 0.0, None, None, None, None, None, None)
    total = math.fsum(values)
    mean = total / count
    stddev = statistics.stdev(values) if count >= 2 else None
    ci_low, ci_high = _confidence_interval(values, mean, stddev, proportion)
    return Stat(name, split, count, total, mean, stddev, min(values), max(values), ci_low, ci_high)


def _confidence_interval(
    values: list[float], mean: float, stddev: float | None, proportion: bool
) -> tuple[float | None, float | None]:
    # Averaging over train trials can give 0.5 for one instance; Wilson needs whole successes.
    if proportion and all(value in (0, 1) for value in values):
        interval = scipy_stats.binomtest(int(sum(values)), len(values)).proportion_ci(CONFIDENCE, method="wilson")
        return float(interval.low), float(interval.high)
    if stddev is None:
        return None, None
    if stddev == 0:
        return mean, mean
    low, high = scipy_stats.t.interval(CONFIDENCE, len(values) - 1, loc=mean, scale=stddev / math.sqrt(len(values)))
    return float(low), float(high)
