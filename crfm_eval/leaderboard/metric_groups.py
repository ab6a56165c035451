"""Metric groups as HELM shows them (accuracy, calibration, robustness, bias, toxicity, efficiency...).

Membership is read from each run's `metric_info.json` (written by the runner from each metric's
description of its stats, `Metric.info()`), never from a list here: a new metric lands in its
group on every page as soon as its Metric declares it. Only the *order* of the groups on a page is
decided here (HELM's, then any other group by name); a stat no run describes is shown in the last
group, "other".
"""

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional

GROUP_ORDER = (
    "accuracy",
    "calibration",
    "robustness",
    "fairness",
    "bias",
    "toxicity",
    "language_modeling",
    "efficiency",
    "cost",
    "general",
    "general_information",
)
"""The order of groups on a page (HELM's groups, and the names crfm_eval's metrics use)."""

OTHER = "other"
"""The group of stats no metric describes (e.g. runs written before metric_info.json existed)."""


@dataclass(frozen=True)
class MetricInfo:
    """What the site knows about one stat name."""

    name: str
    group: str = OTHER
    display_name: Optional[str] = None
    short_display_name: Optional[str] = None
    description: Optional[str] = None
    lower_is_better: Optional[bool] = None

    @property
    def header(self) -> str:
        """The column header: the stat's name as in stats.json (what a reader can look up)."""
        return self.name

    @property
    def tooltip(self) -> str:
        parts = [self.display_name or self.name]
        if self.description:
            parts.append(self.description)
        if self.lower_is_better is not None:
            parts.append("Lower is better." if self.lower_is_better else "Higher is better.")
        return " — ".join(parts)


def catalog(infos: Iterable[Mapping[str, Mapping[str, Any]]]) -> dict[str, MetricInfo]:
    """Stat name -> what it is, from the runs' metric_info.json (stat name -> description): the first
    run that describes a name wins; names keep the order the files list them in."""
    found: dict[str, MetricInfo] = {}
    for described in infos:
        for key, item in described.items():
            name = str(item.get("name") or key)
            if name in found:
                continue
            found[name] = MetricInfo(
                name=name,
                group=str(item.get("group") or OTHER),
                display_name=item.get("display_name"),
                short_display_name=item.get("short_display_name"),
                description=item.get("description"),
                lower_is_better=item.get("lower_is_better"),
            )
    return found


def info(known: Mapping[str, MetricInfo], name: str) -> MetricInfo:
    return known.get(name) or MetricInfo(name)


def _group_rank(group: str) -> tuple[int, str]:
    if group in GROUP_ORDER:
        return (0, f"{GROUP_ORDER.index(group):03d}")
    return (2, "") if group == OTHER else (1, group)


def group_title(group: str) -> str:
    """`general_information` -> `General information`."""
    return group.replace("_", " ").capitalize()


def grouped(names: Iterable[str], known: Mapping[str, MetricInfo]) -> list[tuple[str, list[str]]]:
    """`names` by metric group, groups in GROUP_ORDER (then new groups by name, then "other"); within a
    group, stats in the order the metric files list them (undescribed ones by name)."""
    order = {name: index for index, name in enumerate(known)}
    groups: dict[str, list[str]] = {}
    for name in set(names):
        groups.setdefault(info(known, name).group, []).append(name)
    return [
        (group, sorted(members, key=lambda name: (order.get(name, len(order)), name)))
        for group, members in sorted(groups.items(), key=lambda item: _group_rank(item[0]))
    ]
