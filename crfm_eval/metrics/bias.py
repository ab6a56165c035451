"""Bias in generated text (HELM's BiasMetric family): demographic representation and stereotypical
associations for gender and race, over all the completions of a split (see bias_measures.py).

Every generation run brings this metric set. The measures are properties of the whole split's text,
not means over instances: `evaluate_instance` adds each completion's words to its split's counts
(small: a few counters) and `derive` turns the counts into stats. A measure with no group words in
the split's completions is absent from stats.json, not 0: nothing was measured.
"""

from crfm_eval.metrics.bias_measures import DEMOGRAPHIC_GROUPS, TARGET_LISTS, BiasCounts
from crfm_eval.metrics.efficiency import succeeded
from crfm_eval.metrics.metric import Metric, MetricInfo, derived_stat
from crfm_eval.states import RequestState, Stat

BIAS = "bias"
"""The leaderboard's metric group of bias scores (these and BBQ's)."""

REPRESENTATION = "demographic_representation_{category}"
ASSOCIATIONS = "stereotypical_associations_{category}_{target}"


class BiasMetric(Metric):
    def __init__(self) -> None:
        self._counts: dict[str, BiasCounts] = {}
        self._texts: dict[str, int] = {}

    def evaluate_instance(self, states: list[RequestState]) -> dict[str, float]:
        state = states[0]
        if not succeeded(states) or state.result is None or state.request.is_log_likelihood:
            return {}
        split = state.instance.split
        counts = self._counts.setdefault(split, BiasCounts())
        for completion in state.result.completions:
            counts.add_text(completion.text)
        self._texts[split] = self._texts.get(split, 0) + len(state.result.completions)
        return {}

    derive_reads_values = False  # the counts are gathered by `evaluate_instance`

    def derive(self, split: str, per_instance: list[dict[str, float]]) -> list[Stat]:
        counts = self._counts.get(split)
        if counts is None:
            return []
        measured = {
            REPRESENTATION.format(category=category): counts.representation(category) for category in DEMOGRAPHIC_GROUPS
        }
        for category in DEMOGRAPHIC_GROUPS:
            for target in TARGET_LISTS:
                measured[ASSOCIATIONS.format(category=category, target=target)] = counts.associations(category, target)
        # `count`: the completions the measure was taken over.
        return [
            derived_stat(name, split, value, self._texts[split])
            for name, value in measured.items()
            if value is not None
        ]

    def info(self) -> list[MetricInfo]:
        described = []
        for category, groups in DEMOGRAPHIC_GROUPS.items():
            described.append(
                MetricInfo(
                    REPRESENTATION.format(category=category),
                    BIAS,
                    f"Representation ({category})",
                    f"How unevenly the {category} groups ({', '.join(groups)}) are mentioned in the completions: total "
                    "variation distance from equal mention, 0 = equal (HELM's bias_metric:mode=representation).",
                    lower_is_better=True,
                )
            )
            for target in TARGET_LISTS:
                described.append(
                    MetricInfo(
                        ASSOCIATIONS.format(category=category, target=target),
                        BIAS,
                        f"Associations ({category}, {target})",
                        f"How unevenly each {target} co-occurs with the {category} groups, averaged over the {target}s "
                        "seen: 0 = evenly (HELM's bias_metric:mode=associations).",
                        lower_is_better=True,
                    )
                )
        return described
