"""One Stat from a list of per-instance values, and the merge of Stats computed on shards.

A Stat is a function of five numbers: count, sum, sum of squares, min and max (its sufficient
statistics). Everything else (mean, variance, standard deviation, confidence interval) is computed
from them and from nothing else, so the stats of shards (a run split over machines) merge into
exactly the stats of one run: add the sums, keep the extremes, compute again. Sums are correctly
rounded (`math.fsum`), so they do not depend on the order of the values; for values whose sums are
exact in floating point (every count, token count and 0/1 correctness) the merged Stat is
byte-identical to the one run's, and for other values it agrees to the last bit or two.

For a proportion (every value 0 or 1 by the metric's definition, e.g. accuracy) the interval is
Wilson's score interval: it stays inside [0, 1] and stays honest at 0% and 100%. For any other
value it is Student's t interval of the mean. The values are all 0 or 1 exactly when they lie in
[0, 1] and their sum equals the sum of their squares (x^2 < x strictly between 0 and 1).
"""

import dataclasses
import math
import statistics
from collections import defaultdict
from collections.abc import Callable
from fractions import Fraction
from typing import Optional

from crfm_eval.errors import UserError
from crfm_eval.metrics.quantiles import normal_quantile, t_quantile
from crfm_eval.states import CONSISTENCY, MACRO_AVERAGE, Stat, TrialSpread

CONFIDENCE = 0.95


def summarize(name: str, split: str, values: list[float], proportion: bool = False) -> Stat:
    if not values:
        return stat_from_sums(name, split, 0, 0.0, 0.0, None, None, proportion)
    total = math.fsum(values)
    total_squares = math.fsum(value * value for value in values)
    return stat_from_sums(name, split, len(values), total, total_squares, min(values), max(values), proportion)


def stat_from_sums(
    name: str,
    split: str,
    count: int,
    total: float,
    total_squares: float,
    low: Optional[float],
    high: Optional[float],
    proportion: bool = False,
) -> Stat:
    """The Stat of `count` values with these sums and extremes."""
    if count == 0:
        return Stat(name, split, 0, 0.0, None, None, None, None, None, None, sum_squared=0.0, variance=None)
    mean = total / count
    variance: Optional[float] = _sample_variance(count, total, total_squares) if count >= 2 else None
    stddev = math.sqrt(variance) if variance is not None else None
    zero_or_one = low is not None and high is not None and low >= 0 and high <= 1 and total_squares == total
    ci_low: Optional[float]
    ci_high: Optional[float]
    if proportion and zero_or_one:
        ci_low, ci_high = _wilson(mean, count)
    else:
        ci_low, ci_high = _t_interval(mean, stddev, count)
    return Stat(name, split, count, total, mean, stddev, low, high, ci_low, ci_high, total_squares, variance)


def merge_stats(stats: list[Stat], proportion: bool = False) -> Stat:
    """The Stat of the union of the shards whose Stats are `stats` (same name and split)."""
    if not stats:
        raise ValueError("merge_stats needs at least one Stat")
    first = stats[0]
    if any((stat.name, stat.split, stat.sub_split) != (first.name, first.split, first.sub_split) for stat in stats):
        raise ValueError(
            f"merge_stats got different stats: {sorted({(s.name, s.split, str(s.sub_split)) for s in stats})}"
        )
    for stat in stats:
        if stat.sum_squared is None and stat.count > 0:
            raise UserError(
                f"The stat {stat.name} ({stat.split}) has no sum_squared: it is computed from a whole split "
                "(or written by an older version) and cannot be merged; merge the shards' per-instance stats instead."
            )
    lows = [stat.min for stat in stats if stat.min is not None]
    highs = [stat.max for stat in stats if stat.max is not None]
    merged = stat_from_sums(
        first.name,
        first.split,
        sum(stat.count for stat in stats),
        math.fsum(stat.sum for stat in stats),
        math.fsum(stat.sum_squared or 0.0 for stat in stats),
        min(lows) if lows else None,
        max(highs) if highs else None,
        proportion,
    )
    return dataclasses.replace(merged, sub_split=first.sub_split, trials=_merged_spread(stats))


def merge_stat_lists(shards: list[list[Stat]], is_proportion: Callable[[str], bool] = lambda name: False) -> list[Stat]:
    """The stats of a whole run from its shards' stats.json contents, sorted by split, sub-split
    (the whole split first) and name; `is_proportion` says which stats are 0/1 by definition (ask
    the run's metrics).

    Stats of a sub-split and of contrast sets (whole in one shard, as the subsample keeps them) merge
    like any other; a macro average is not a sum over instances, so it is computed again from the
    merged sub-splits' means, as the run computes it."""
    grouped: dict[tuple[str, str, str], list[Stat]] = defaultdict(list)
    for stats in shards:
        for stat in stats:
            grouped[(stat.split, stat.sub_split or "", stat.name)].append(stat)
    merged = {
        key: merge_stats(group, is_proportion(key[2])) for key, group in grouped.items() if key[1] != MACRO_AVERAGE
    }
    for split, _, name in (key for key in grouped if key[1] == MACRO_AVERAGE):
        part_means = [
            stat.mean
            for (s, part, n), stat in sorted(merged.items())
            if (s, n) == (split, name) and part not in ("", CONSISTENCY) and stat.mean is not None
        ]
        merged[(split, MACRO_AVERAGE, name)] = dataclasses.replace(
            summarize(name, split, part_means), sub_split=MACRO_AVERAGE
        )
    return [merged[key] for key in sorted(merged)]


def _sample_variance(count: int, total: float, total_squares: float) -> float:
    # Exact rational arithmetic on the (already rounded) sums: no cancellation error, and the
    # result depends on the sums alone.
    exact = (Fraction(total_squares) - Fraction(total) ** 2 / count) / (count - 1)
    return max(0.0, float(exact))


def _t_interval(mean: float, stddev: Optional[float], count: int) -> tuple[Optional[float], Optional[float]]:
    if stddev is None:
        return None, None
    if stddev == 0:
        return mean, mean
    half_width = t_quantile(count - 1, (1 + CONFIDENCE) / 2) * stddev / math.sqrt(count)
    return mean - half_width, mean + half_width


def _wilson(proportion: float, count: int) -> tuple[float, float]:
    """Wilson's score interval (Wilson, 1927) of a proportion observed in `count` trials."""
    z = normal_quantile((1 + CONFIDENCE) / 2)
    denominator = 1 + z * z / count
    center = (proportion + z * z / (2 * count)) / denominator
    half_width = z * math.sqrt(proportion * (1 - proportion) / count + z * z / (4 * count * count)) / denominator
    return max(0.0, center - half_width), min(1.0, center + half_width)


def trial_spread(trial_values: dict[int, list[float]]) -> TrialSpread | None:
    """The spread of a stat over train trials, from each trial's values (trial index -> values of
    its instances); None with fewer than two trials."""
    filled = [values for _, values in sorted(trial_values.items()) if values]
    return spread_from_sums([math.fsum(values) for values in filled], [len(values) for values in filled])


def spread_from_sums(sums: list[float], counts: list[int]) -> TrialSpread | None:
    """The spread over train trials from each trial's sum and count; None with fewer than two trials."""
    if len(sums) < 2:
        return None
    means = [total / count for total, count in zip(sums, counts, strict=True)]
    return TrialSpread(means, min(means), max(means), statistics.stdev(means), sums, counts)


def _merged_spread(stats: list[Stat]) -> TrialSpread | None:
    """The trial spread of the union of shards: each trial's sums and counts added up (None unless
    every shard has one over the same number of trials)."""
    spreads = [stat.trials for stat in stats]
    if any(spread is None or not spread.counts for spread in spreads):
        return None
    sizes = {len(spread.counts) for spread in spreads if spread is not None}
    if len(sizes) != 1:
        return None
    trials = range(sizes.pop())
    sums = [math.fsum(spread.sums[t] for spread in spreads if spread is not None) for t in trials]
    counts = [sum(spread.counts[t] for spread in spreads if spread is not None) for t in trials]
    return spread_from_sums(sums, counts)
