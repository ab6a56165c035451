"""What a run costs and how much its score depends on the prompt, as the site shows them.

- Cost: the run's tokens (cached ones included) at the model's price (`model.price` in the run's
  spec, recorded in the manifest's `usage`): what the run costs from scratch, the same number for a
  rerun from the cache; the dollars this execution paid are in the cell's tooltip.
- Latency: the mean and 95th percentile of the request time of the run's model calls (the manifest's
  `usage.request_seconds`; a cached result keeps the time of the call that reached the model).
- Trial spread: with several train trials, each stat of stats.json carries its mean per trial
  (`trials`); a cell shows their range and standard deviation beside the mean, and `trials_chart`
  draws each entry's per-trial means.
"""

from typing import Any, Optional

from crfm_eval.leaderboard.html import Cell, esc, fmt, number_attr
from crfm_eval.leaderboard.plots import LINE_HEIGHT, PALETTE, _label, _svg, wrap
from crfm_eval.leaderboard.runs import Run

PER_TOKENS = 1_000_000


def _usage(run: Run) -> dict[str, Any]:
    usage = run.manifest.get("usage")
    return usage if isinstance(usage, dict) else {}


def full_cost(run: Run) -> Optional[float]:
    """Dollars for all of the run's tokens at its model's price (cached calls priced too); None for a
    run written before usage was recorded."""
    usage = _usage(run)
    price = usage.get("price") or {}
    if not usage or not isinstance(price, dict):
        return None
    prompt = (usage.get("prompt_tokens") or 0) + (usage.get("cached_prompt_tokens") or 0)
    completion = (usage.get("completion_tokens") or 0) + (usage.get("cached_completion_tokens") or 0)
    rate_prompt = price.get("prompt_per_million_tokens") or 0.0
    rate_completion = price.get("completion_per_million_tokens") or 0.0
    return (prompt * rate_prompt + completion * rate_completion) / PER_TOKENS


def cost_cell(run: Run) -> Cell:
    cost = full_cost(run)
    if cost is None:
        return Cell("—")
    usage = _usage(run)
    price = usage.get("price") or {}
    read_on = f", price read on {price['read_on']}" if price.get("read_on") else ""
    title = (
        f"{usage.get('prompt_tokens', 0) + usage.get('cached_prompt_tokens', 0)} prompt and "
        f"{usage.get('completion_tokens', 0) + usage.get('cached_completion_tokens', 0)} completion tokens at "
        f"${price.get('prompt_per_million_tokens', 0):g} / ${price.get('completion_per_million_tokens', 0):g} "
        f"per million{read_on}; paid by this execution: ${usage.get('cost_usd', 0):.6f} (cached calls cost 0)"
    )
    return Cell(f'<span class="crfm-cost" title="{esc(title)}" data-cost="{number_attr(cost)}">{cost:.4f}</span>', cost)


def latency_cell(run: Run) -> Cell:
    seconds = _usage(run).get("request_seconds") or {}
    mean, p95, count = seconds.get("mean"), seconds.get("p95"), seconds.get("count")
    if mean is None:
        return Cell("—")
    title = f"request time of {count} model calls: mean {mean:.4f} s, 95th percentile {fmt(p95, 4)} s"
    return Cell(
        f'<span class="crfm-latency" title="{esc(title)}" data-mean="{number_attr(mean)}" '
        f'data-p95="{number_attr(p95)}">{mean:.3f} / {fmt(p95)}</span>',
        mean,
    )


def trial_means(stat: Optional[dict[str, Any]]) -> list[float]:
    """The stat's mean in each train trial (empty with one trial)."""
    trials = (stat or {}).get("trials")
    if not isinstance(trials, dict):
        return []
    return [float(mean) for mean in trials.get("means") or []]


def spread_html(stat: Optional[dict[str, Any]]) -> str:
    """`trials min–max, sd x` beside a mean, with every trial's mean in the tooltip; "" with one trial."""
    trials = (stat or {}).get("trials")
    if not isinstance(trials, dict) or not trials.get("means"):
        return ""
    means = trial_means(stat)
    title = "mean in each train trial (its own in-context examples): " + ", ".join(fmt(mean) for mean in means)
    return (
        f' <span class="crfm-trials" title="{esc(title)}" data-trial-means="{esc(",".join(map(repr, means)))}" '
        f'data-trial-stddev="{number_attr(trials.get("stddev"))}">'
        f"trials {fmt(trials.get('min'))}–{fmt(trials.get('max'))}, sd {fmt(trials.get('stddev'))}</span>"
    )


def trials_chart(title: str, metric: str, items: list[tuple[str, Optional[float], list[float]]]) -> str:
    """One row per entry: a dot for its mean in each train trial (numbered), a bar at its overall mean,
    on a 0-1 axis. Rows with one trial show their mean alone."""
    left, right, top, plot_width = 250, 30, 34, 380
    width = left + plot_width + right
    heights = [max(26, LINE_HEIGHT * len(wrap(label)) + 8) for label, _, _ in items]
    bottom = top + sum(heights)
    height = bottom + 34

    def x(value: float) -> float:
        return left + plot_width * min(max(value, 0.0), 1.0)

    body = [f'<text x="{left}" y="16" font-weight="bold">{esc(title)}</text>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{bottom}" '
            'stroke="currentColor" stroke-opacity="0.15"/>'
        )
        body.append(f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{tick:g}</text>')
    body.append(
        f'<text x="{left + plot_width / 2:.1f}" y="{bottom + 30}" text-anchor="middle">'
        f"{esc(metric)}: mean in each train trial (dots, numbered), overall mean (bar)</text>"
    )
    for index, (label, mean, means) in enumerate(items):
        y = top + sum(heights[:index]) + heights[index] / 2
        color = PALETTE[index % len(PALETTE)]
        body.append(_label(left - 8, y, label, "end"))
        body.append(f'<g class="crfm-trial-row" data-label="{esc(label)}">')
        if mean is not None:
            body.append(
                f'<line x1="{x(mean):.1f}" x2="{x(mean):.1f}" y1="{y - 9:.1f}" y2="{y + 9:.1f}" '
                f'stroke="{color}" stroke-width="3"><title>{esc(f"{label}: mean {fmt(mean)}")}</title></line>'
            )
        for trial, value in enumerate(means):
            body.append(
                f'<circle class="crfm-trial-point" cx="{x(value):.1f}" cy="{y:.1f}" r="5" fill="{color}" '
                f'fill-opacity="0.6" data-trial="{trial}" data-value="{number_attr(value)}">'
                f"<title>{esc(f'{label}, train trial {trial}: {fmt(value)}')}</title></circle>"
            )
            body.append(f'<text x="{x(value):.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="9">{trial}</text>')
        body.append("</g>")
    return _svg(width, height, title, body)
