"""Quotas: how much of a model group an account may use per period, in requests and in tokens.

    {"openai": {"requests": {"daily": 1000}, "tokens": {"monthly": 2000000}}, "*": {"requests": {"total": 50}}}

A group's quotas are in two units, `requests` (model calls) and `tokens` (prompt tokens plus
completion tokens by the model's tokenizer, as HELM's proxy counts them), each per period
(`daily`, `monthly`, `total`; UTC). A missing unit, period or group is unlimited; the group `*`
applies to every group not named. The earlier form, periods directly under the group
(`{"openai": {"daily": 1000}}`), still reads as a request quota.
"""

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Optional

from crfm_eval.proxy.limits import Limits

PERIODS = ("daily", "monthly", "total")
UNITS = ("requests", "tokens")
ANY_GROUP = "*"

Quotas = dict[str, dict[str, dict[str, Optional[int]]]]
"""group -> unit -> period -> limit (None: unlimited)."""


class QuotaError(ValueError):
    """Quotas that cannot be stored: the sentence says which part and why."""


@dataclass(frozen=True)
class Charge:
    """What one model call costs, in each unit."""

    requests: int
    tokens: int

    def amount(self, unit: str) -> int:
        return self.requests if unit == "requests" else self.tokens


def current_periods(now: Optional[datetime] = None) -> dict[str, str]:
    now = now or datetime.now(timezone.utc)
    return {"daily": now.strftime("%Y-%m-%d"), "monthly": now.strftime("%Y-%m"), "total": "all"}


def check_quotas(quotas: Any, limits: Limits) -> Quotas:
    """`quotas` as stored, or QuotaError naming what is wrong."""
    example = '{"group": {"requests": {"daily": 100}, "tokens": {"monthly": 100000}}}'
    if not isinstance(quotas, dict):
        raise QuotaError(f"quotas must be an object like {example}")
    checked: Quotas = {}
    for group, units in quotas.items():
        if not group or len(group) > limits.max_short_text_chars:
            raise QuotaError(f"a quota group name must have 1 to {limits.max_short_text_chars} characters")
        if not isinstance(units, dict):
            raise QuotaError(f"the quotas of group {group!r} must be an object like {example}")
        if units and set(units) <= set(PERIODS):  # the earlier form: request periods under the group
            units = {"requests": units}
        if set(units) - set(UNITS):
            raise QuotaError(f"the quotas of group {group!r} may only name the units {' and '.join(UNITS)}")
        checked[group] = {}
        for unit, periods in units.items():
            if not isinstance(periods, dict) or set(periods) - set(PERIODS):
                raise QuotaError(f"quota {group}.{unit} must be an object naming only {', '.join(PERIODS)}")
            for period, limit in periods.items():
                if limit is not None and (
                    isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= limits.max_quota
                ):
                    raise QuotaError(
                        f"quota {group}.{unit}.{period} must be a whole number from 0 to {limits.max_quota} "
                        f"or null, not {limit!r:.40}"
                    )
            checked[group][unit] = {period: periods[period] for period in PERIODS if period in periods}
    return checked


def group_limits(quotas: Quotas, group: str) -> dict[str, dict[str, Optional[int]]]:
    """unit -> period -> limit for calls to `group`."""
    return quotas.get(group, quotas.get(ANY_GROUP, {}))


def read_stored(quotas: dict[str, Any]) -> Quotas:
    """Stored quotas, the earlier form (request periods directly under the group) included."""
    return {
        group: {"requests": units} if units and set(units) <= set(PERIODS) else units for group, units in quotas.items()
    }
