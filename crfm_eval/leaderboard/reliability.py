"""The reliability diagram of a run with calibration stats: accuracy against confidence.

The points are the 10 equal-mass bins behind `ece_10_bin` (crfm_eval.metrics.calibration, the same
function), computed from the per-instance `max_prob` and `exact_match` values the run wrote (its
values averaged over train trials, as the site shows them); a point's area grows with its bin's
size. A calibrated model's points lie on the diagonal. Inline SVG, like plots.py: nothing to load.
"""

from crfm_eval.leaderboard.html import esc, fmt
from crfm_eval.leaderboard.runs import Run
from crfm_eval.metrics.calibration import ReliabilityBin, reliability_bins

SIZE, MARGIN = 260, 44


def reliability_svg(bins: list[ReliabilityBin], title: str) -> str:
    def x(value: float) -> float:
        return MARGIN + SIZE * min(max(value, 0.0), 1.0)

    def y(value: float) -> float:
        return MARGIN + SIZE * (1 - min(max(value, 0.0), 1.0))

    body = [f'<text x="{MARGIN}" y="18" font-weight="bold">{esc(title)}</text>']
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        body.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{y(0)}" y2="{y(1)}" stroke="currentColor" stroke-opacity="0.15"/>'
        )
        body.append(
            f'<line x1="{x(0)}" x2="{x(1)}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="currentColor" stroke-opacity="0.15"/>'
        )
        body.append(f'<text x="{x(tick):.1f}" y="{y(0) + 16}" text-anchor="middle">{tick:g}</text>')
        body.append(f'<text x="{x(0) - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{tick:g}</text>')
    body.append(f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(1)}" stroke="currentColor" stroke-dasharray="4 4"/>')
    body.append(f'<text x="{x(0.5)}" y="{y(0) + 34}" text-anchor="middle">confidence (max_prob)</text>')
    body.append(f'<text transform="translate(12 {y(0.5)}) rotate(-90)" text-anchor="middle">accuracy</text>')
    points = " ".join(f"{x(b.confidence):.1f},{y(b.accuracy):.1f}" for b in bins)
    body.append(f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    largest = max((b.count for b in bins), default=1)
    for b in bins:
        radius = 3 + 5 * (b.count / largest) ** 0.5
        tip = f"confidence {fmt(b.confidence)}, accuracy {fmt(b.accuracy)}, {b.count} instances"
        body.append(
            f'<circle cx="{x(b.confidence):.1f}" cy="{y(b.accuracy):.1f}" r="{radius:.1f}" fill="#1f77b4" '
            f'fill-opacity="0.7" data-confidence="{b.confidence!r}" data-accuracy="{b.accuracy!r}" '
            f'data-count="{b.count}"><title>{esc(tip)}</title></circle>'
        )
    width, height = SIZE + 2 * MARGIN, SIZE + 2 * MARGIN + 10
    return (
        f'<svg class="crfm-plot crfm-reliability" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" font-size="12" fill="currentColor">'
        f"<title>{esc(title)}</title>" + "".join(body) + "</svg>"
    )


def reliability_section(run: Run) -> str:
    """The run page's calibration section (a heading, then `reliability_html`), or "" for a run without
    calibration stats."""
    diagram = reliability_html(run)
    return "## Calibration\n\n" + diagram if diagram else ""


def reliability_html(run: Run) -> str:
    """The caption and diagram of a run with calibration stats, or "" for a run without."""
    split = run.main_split("ece_10_bin")
    if split is None:
        return ""
    confidence = run.instance_values("max_prob", split)
    correct = run.instance_values("exact_match", split)
    ids = sorted(set(confidence) & set(correct))
    bins = reliability_bins([confidence[i] for i in ids], [correct[i] for i in ids])
    if not bins:
        return ""
    ece = run.stat("ece_10_bin", split) or {}
    caption = (
        f"<p>Accuracy against confidence on <code>{esc(split)}</code>, in the 10 equal-mass bins of "
        f"<code>ece_10_bin</code> = {esc(fmt(ece.get('mean')))} ({len(ids)} instances; the dashed line is perfect "
        "calibration).</p>"
    )
    return f'<div class="crfm">{caption}{reliability_svg(bins, "Reliability diagram")}</div>'
