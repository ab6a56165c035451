"""The short table of main stats printed at the end of a run.

Stats of the whole split come first; of the parts of a split (sub-splits, their macro average,
contrast-set consistency) only the headline stat is shown, so that 57 MMLU subjects stay readable,
and the PART_STATS (BBQ's scores by category).
"""

from crfm_eval.states import CONSISTENCY, MACRO_AVERAGE, Stat

MAIN_STATS = (
    "exact_match",
    "acc_norm",
    "acc_norm_per_token",
    "bbq_accuracy_ambiguous",
    "bbq_accuracy_disambiguated",
    "bbq_metric_ambiguous_bias",
    "bbq_metric_unambiguous_bias",
    "exact_match@2",
    "ece_10_bin",
    "selective_acc@10",
    "logprob_per_token",
    "perplexity",
    "bits_per_byte",
    "quasi_exact_match",
    "prefix_exact_match",
    "quasi_prefix_exact_match",
    "expected_max_toxicity",
    "max_toxicity_probability",
    "toxic_frac",
    "demographic_representation_gender",
    "demographic_representation_race",
    "stereotypical_associations_gender_profession",
    "stereotypical_associations_race_profession",
    "num_prompt_tokens",
    "num_completion_tokens",
    "num_train_instances",
    "prompt_truncated",
    "inference_runtime",
    "num_requests",
    "cached",
)
PART_STATS = frozenset(
    {"bbq_accuracy_ambiguous", "bbq_accuracy_disambiguated", "bbq_metric_ambiguous_bias", "bbq_metric_unambiguous_bias"}
)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _part_order(stat: Stat) -> tuple[int, str]:
    return (0 if stat.sub_split in (MACRO_AVERAGE, CONSISTENCY) else 1, str(stat.sub_split))


def stats_table(stats: list[Stat]) -> str:
    with_trials = any(stat.trials is not None for stat in stats)
    rows = [("split", "part", "stat", "count", "mean", "95% CI") + (("trial means: min-max (sd)",) * with_trials)]
    order = {name: index for index, name in enumerate(MAIN_STATS)}
    whole = [s for s in stats if s.name in order and s.sub_split is None]
    parts = [s for s in stats if s.name in order and s.sub_split is not None]
    headline = min((order[s.name] for s in parts), default=None)
    shown = sorted(whole, key=lambda s: (s.split, order[s.name]))
    shown += sorted(
        (s for s in parts if order[s.name] == headline or s.name in PART_STATS),
        key=lambda s: (s.split, *_part_order(s), order[s.name]),
    )
    for stat in shown:
        interval = f"[{_number(stat.ci_low)}, {_number(stat.ci_high)}]"
        part = stat.sub_split or "-"
        row: tuple[str, ...] = (stat.split, part, stat.name, str(stat.count), _number(stat.mean), interval)
        if with_trials:  # how much the score moves with the in-context examples
            spread = stat.trials
            row += ("" if spread is None else f"{spread.min:.3f}-{spread.max:.3f} ({spread.stddev:.3f})",)
        rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
