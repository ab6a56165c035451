"""Inline SVG charts, drawn by hand: no plotting library to install, nothing to load, text stays text.

Two pictures that beat a table: each entry's main metric with its 95% interval as a bar (overlap
and spread are seen at a glance), and the metric against the number of in-context examples, one
line per model. Every label goes through `esc`; colours come from a fixed palette so the same
build always gives the same bytes. Text and axes use `currentColor` to follow the theme.

Labels are never cut (two entries that differ only at the end of a long label would look the
same): a long label is wrapped over several lines, and its row grows to fit.
"""

import textwrap
from dataclasses import dataclass
from typing import Optional

from crfm_eval.leaderboard.html import esc, fmt

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
LABEL_CHARS = 34
"""Labels are wrapped at this many characters a line."""
LINE_HEIGHT = 14


@dataclass(frozen=True)
class Point:
    """A mean with its 95% interval (the interval may be unknown)."""

    mean: float
    low: Optional[float] = None
    high: Optional[float] = None


def wrap(label: str) -> list[str]:
    """`label` over lines of at most LABEL_CHARS, broken at spaces where possible, every character kept."""
    lines = textwrap.wrap(label, LABEL_CHARS, break_long_words=True, break_on_hyphens=False, drop_whitespace=True)
    return lines or [""]


def _label(x: float, y: float, label: str, anchor: str) -> str:
    """A text element of `label`'s wrapped lines, vertically centred on `y`."""
    lines = wrap(label)
    first = y + 4 - (len(lines) - 1) * LINE_HEIGHT / 2
    spans = "".join(
        f'<tspan x="{x:.1f}" y="{first + index * LINE_HEIGHT:.1f}">{esc(line)}</tspan>'
        for index, line in enumerate(lines)
    )
    return f'<text text-anchor="{anchor}"><title>{esc(label)}</title>{spans}</text>'


def _svg(width: int, height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg class="crfm-plot" xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-size="12" fill="currentColor">'
        f"<title>{esc(title)}</title>" + "".join(body) + "</svg>"
    )


def interval_chart(title: str, metric: str, items: list[tuple[str, Optional[Point]]]) -> str:
    """One row per entry: its mean as a dot, its 95% interval as a bar, on a 0-1 axis."""
    left, right, top = 250, 30, 34
    plot_width = 380
    width = left + plot_width + right
    heights = [max(26, LINE_HEIGHT * len(wrap(label)) + 8) for label, _ in items]
    bottom = top + sum(heights)
    height = bottom + 34 + (26 if not items else 0)

    def x(value: float) -> float:
        return left + plot_width * min(max(value, 0.0), 1.0)

    body = [f'<text x="{left}" y="16" font-weight="bold">{esc(title)}</text>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{top - 6}" y2="{bottom}" stroke="currentColor" stroke-opacity="0.15"/>'
        )
        body.append(f'<text x="{x(tick):.1f}" y="{bottom + 16}" text-anchor="middle">{tick:g}</text>')
    body.append(
        f'<text x="{left + plot_width / 2:.1f}" y="{bottom + 30}" text-anchor="middle">{esc(metric)} (mean, 95% CI)</text>'
    )
    for index, (label, point) in enumerate(items):
        y = top + sum(heights[:index]) + heights[index] / 2
        body.append(_label(left - 8, y, label, "end"))
        if point is None:
            body.append(f'<text x="{left + 4}" y="{y + 4:.1f}" fill-opacity="0.6">no value</text>')
            continue
        color = PALETTE[index % len(PALETTE)]
        tooltip = esc(f"{label}: {fmt(point.mean)} [{fmt(point.low)}, {fmt(point.high)}]")
        body.append(f"<g><title>{tooltip}</title>")
        if point.low is not None and point.high is not None:
            body.append(
                f'<rect x="{x(point.low):.1f}" y="{y - 5:.1f}" width="{max(x(point.high) - x(point.low), 1):.1f}" '
                f'height="10" fill="{color}" fill-opacity="0.3"/>'
            )
        body.append(f'<circle cx="{x(point.mean):.1f}" cy="{y:.1f}" r="5" fill="{color}"/></g>')
    return _svg(width, height, title, body)


def shots_chart(title: str, metric: str, series: dict[str, list[tuple[int, Point]]]) -> str:
    """The metric against the number of in-context examples: one line per model, with interval whiskers."""
    left, right, top, bottom_margin, plot_width, plot_height = 50, 20, 30, 40, 420, 220
    legend_width = 240
    width = left + plot_width + right + legend_width
    legend_heights = [max(16, LINE_HEIGHT * len(wrap(model)) + 4) for model in sorted(series)]
    height = top + plot_height + bottom_margin + max(0, sum(legend_heights) - plot_height)
    shots = sorted({count for points in series.values() for count, _ in points})
    low_shot, high_shot = (shots[0], shots[-1]) if shots else (0, 1)
    span = (high_shot - low_shot) or 1

    def x(count: int) -> float:
        return left + plot_width * ((count - low_shot) / span if high_shot != low_shot else 0.5)

    def y(value: float) -> float:
        return top + plot_height * (1 - min(max(value, 0.0), 1.0))

    body = [f'<text x="{left}" y="16" font-weight="bold">{esc(title)}</text>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<line x1="{left}" x2="{left + plot_width}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="currentColor" stroke-opacity="0.15"/>'
        )
        body.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    for count in shots:
        body.append(f'<text x="{x(count):.1f}" y="{top + plot_height + 16}" text-anchor="middle">{count}</text>')
    body.append(
        f'<text x="{left + plot_width / 2:.1f}" y="{top + plot_height + 32}" text-anchor="middle">in-context examples; y: {esc(metric)}</text>'
    )
    for index, (model, points) in enumerate(sorted(series.items())):
        color = PALETTE[index % len(PALETTE)]
        ordered = sorted(points, key=lambda item: item[0])
        if len(ordered) > 1:
            path = " ".join(f"{x(count):.1f},{y(point.mean):.1f}" for count, point in ordered)
            body.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for count, point in ordered:
            tooltip = esc(f"{model}, {count} examples: {fmt(point.mean)} [{fmt(point.low)}, {fmt(point.high)}]")
            body.append(f"<g><title>{tooltip}</title>")
            if point.low is not None and point.high is not None:
                body.append(
                    f'<line x1="{x(count):.1f}" x2="{x(count):.1f}" y1="{y(point.low):.1f}" y2="{y(point.high):.1f}" stroke="{color}" stroke-width="2"/>'
                )
            body.append(f'<circle cx="{x(count):.1f}" cy="{y(point.mean):.1f}" r="4" fill="{color}"/></g>')
        legend_y = top + 8 + sum(legend_heights[:index]) + legend_heights[index] / 2
        legend_x = left + plot_width + right + 10
        body.append(f'<rect x="{legend_x}" y="{legend_y - 5:.1f}" width="10" height="10" fill="{color}"/>')
        body.append(_label(legend_x + 16, legend_y, model, "start"))
    return _svg(width, height, title, body)
