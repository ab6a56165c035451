"""What each stat is: its metric group, which direction is better, and how to call it.

A Metric declares one `MetricMetadata` per stat name it produces (`Metric.get_metadata`), next to
the code that computes it; the runner writes them to the run folder (`metric_metadata.json`), and
the leaderboard groups and orders stats from that file alone. So a new metric shows up in the
right group of every scenario page without any change to the site.

The fields are HELM's `MetricMetadata` (helm.benchmark.metrics.metric), so a HELM user reads
them the same way; the group names are HELM's metric groups.
"""

from dataclasses import dataclass
from typing import Optional

ACCURACY = "accuracy"
CALIBRATION = "calibration"
ROBUSTNESS = "robustness"
FAIRNESS = "fairness"
BIAS = "bias"
TOXICITY = "toxicity"
EFFICIENCY = "efficiency"
GENERAL_INFORMATION = "general_information"

GROUP_ORDER = (ACCURACY, CALIBRATION, ROBUSTNESS, FAIRNESS, BIAS, TOXICITY, EFFICIENCY, GENERAL_INFORMATION)
"""HELM's order of the metric groups on a page; a group not listed here comes after them, by name."""


@dataclass(frozen=True)
class MetricMetadata:
    """One stat name's description (HELM's fields)."""

    name: str
    """The stat's name as in stats.json, e.g. `exact_match`."""

    display_name: Optional[str] = None
    """A readable name, e.g. `Exact match`."""

    short_display_name: Optional[str] = None
    """A column header, e.g. `EM`."""

    description: Optional[str] = None
    """One sentence on what the value means (shown as the column's tooltip)."""

    lower_is_better: Optional[bool] = None
    """True for errors, costs and times; False for accuracies; None when neither direction is better."""

    group: Optional[str] = None
    """The metric group (one of the names above, or a new one); None leaves the stat ungrouped."""
