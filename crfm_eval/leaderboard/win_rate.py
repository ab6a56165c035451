"""HELM-style win rate: how often an entry beats the others, averaged over scenarios.

For each scenario, an entry's win rate is the fraction of the *other* entries evaluated on that
scenario whose main metric it beats (a tie counts as half a win, so that identical entries both
get 0.5 against each other rather than 0 or 1). The overall win rate is the mean over the
scenarios where the entry has a value and at least one rival; a single number that stays
comparable when entries were evaluated on different subsets of scenarios.
"""

from typing import Optional


def scenario_win_rates(values: dict[str, Optional[float]]) -> dict[str, Optional[float]]:
    """Entry -> fraction of the other entries (with a value) it beats; None without a value or rival.

    `values` maps each entry to its main metric on one scenario (higher is better).
    """
    present = {entry: value for entry, value in values.items() if value is not None}
    rates: dict[str, Optional[float]] = {}
    for entry in values:
        value = present.get(entry)
        rivals = [other for other in present if other != entry]
        if value is None or not rivals:
            rates[entry] = None
            continue
        wins = sum(1.0 if value > present[other] else 0.5 if value == present[other] else 0.0 for other in rivals)
        rates[entry] = wins / len(rivals)
    return rates


def win_rates(table: dict[str, dict[str, Optional[float]]]) -> dict[str, Optional[float]]:
    """Entry -> mean over scenarios of its per-scenario win rate; `table` is scenario -> entry -> value."""
    collected: dict[str, list[float]] = {}
    for values in table.values():
        for entry, rate in scenario_win_rates(values).items():
            collected.setdefault(entry, [])
            if rate is not None:
                collected[entry].append(rate)
    return {entry: (sum(rates) / len(rates) if rates else None) for entry, rates in collected.items()}
