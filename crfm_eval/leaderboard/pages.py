"""The site-wide generated pages: home, leaderboard, plots and the list of runs.

Each function returns the Markdown source of one page. Headings are Markdown (so they reach the
table of contents); everything with data in it is a raw HTML block built from escaped text.
"""

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any, Optional

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.html import Cell, esc, fmt, link, mean_ci, number_attr, raw_block, table
from crfm_eval.leaderboard.plots import Point, interval_chart, shots_chart
from crfm_eval.leaderboard.runs import Run, RunsFound
from crfm_eval.leaderboard.significance import ALPHA
from crfm_eval.leaderboard.tables import Group, Leaderboard, Row
from crfm_eval.states import CONSISTENCY, MACRO_AVERAGE

RUN_COMMAND = "python -m crfm_eval scenario=boolq adaptation=5shot"
WIDE = "---\nhide:\n  - toc\n---\n\n"
"""Front matter that drops Material's table-of-contents sidebar, leaving wide tables more room."""


@dataclass(frozen=True)
class SiteContext:
    """What every page needs besides the runs: where they came from and how MkDocs builds URLs."""

    output_dir: str
    env_variable: str
    use_directory_urls: bool
    built_at: dt.datetime

    def href(self, from_src: str, to_src: str) -> str:
        return esc(link(from_src, to_src, self.use_directory_urls))


def _no_runs(found: RunsFound, context: SiteContext) -> str:
    return raw_block(
        f'<p class="crfm-empty">No runs found under <code>{esc(found.output_dir / "runs")}</code> yet. '
        f"Make one with <code>{esc(RUN_COMMAND)}</code> and build again, or point "
        f"<code>{esc(context.env_variable)}</code> at another output dir.</p>"
    )


def stat_span(metric: str, stat: Optional[dict]) -> str:
    """A leaderboard cell's content: `mean [low, high]`, with the exact numbers in data attributes."""
    if stat is None:
        return "—"
    attributes = " ".join(
        f'data-{name.replace("_", "-")}="{number_attr(stat.get(name))}"'
        for name in ("mean", "ci_low", "ci_high", "count")
    )
    return f'<span class="crfm-stat" data-metric="{esc(metric)}" {attributes}>{esc(mean_ci(stat))}</span>'


def _finished(run: Run) -> str:
    return run.finished_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def home_page(found: RunsFound, leaderboard: Leaderboard, context: SiteContext) -> str:
    """What was evaluated, when, and with which versions of the code and libraries."""
    parts = ["# crfm_eval results\n"]
    built = context.built_at.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    source = f"<p>Built {esc(built)} from <code>{esc(found.output_dir)}</code>"
    source += f" (set <code>{esc(context.env_variable)}</code> to build from another output dir).</p>"
    runs = found.runs
    if not runs:
        parts.append(raw_block(source))
        parts.append(_no_runs(found, context))
    else:
        first, last = min(run.finished_at for run in runs), max(run.finished_at for run in runs)
        models = sorted({run.model for run in runs})
        summary = (
            f"<p>{len(runs)} run{'s' if len(runs) != 1 else ''} of {len(models)} model{'s' if len(models) != 1 else ''} "
            f"({esc(', '.join(models))}) on {len(leaderboard.groups)} scenario{'s' if len(leaderboard.groups) != 1 else ''} "
            f"({esc(', '.join(group.scenario for group in leaderboard.groups))}), finished between "
            f"{esc(first.astimezone(dt.timezone.utc).strftime('%Y-%m-%d %H:%M'))} and "
            f"{esc(last.astimezone(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'))}. "
            f'See the <a href="{context.href(paths.HOME, paths.LEADERBOARD)}">leaderboard</a>, the '
            f'<a href="{context.href(paths.HOME, paths.PLOTS)}">plots</a> and '
            f'<a href="{context.href(paths.HOME, paths.RUNS)}">every run</a>.</p>'
        )
        parts.append(raw_block(source, summary))
        parts.append("## What was evaluated\n")
        parts.append(raw_block(_scenario_table(leaderboard)))
        parts.append("## Versions\n")
        parts.append(raw_block(_versions_table(runs), _library_table(runs)))
    parts.append(_problem_folders(found))
    return "\n".join(parts)


def _scenario_table(leaderboard: Leaderboard) -> str:
    rows = []
    for group in leaderboard.groups:
        counts = sorted({cell["count"] for row in group.rows if (cell := row.cells.get(leaderboard.primary))})
        rows.append(
            [
                Cell(esc(group.scenario), group.scenario),
                Cell(esc(group.split or "—")),
                Cell(str(len(group.rows)), len(group.rows)),
                Cell(esc(", ".join(sorted({row.run.model for row in group.rows})))),
                Cell(esc(", ".join(sorted({row.run.adaptation for row in group.rows})))),
                Cell(esc(", ".join(str(count) for count in counts) or "—")),
            ]
        )
    return table(["scenario", "split", "runs", "models", "adaptations", "instances"], rows)


def _yes_no(flag: Any) -> str:
    return "unknown" if flag is None else ("yes" if flag else "no")


def _versions_table(runs: list[Run]) -> str:
    """Distinct (package, commit, python) combinations, with how many runs each produced."""
    combos = Counter(
        (
            str(run.manifest.get("package_version")),
            str(run.manifest.get("git_commit") or "unknown"),
            _yes_no(run.manifest.get("git_dirty")),
            str(run.manifest.get("python_version")),
        )
        for run in runs
    )
    rows = [
        [
            Cell(esc(package)),
            Cell(f"<code>{esc(commit[:12])}</code>", commit),
            Cell(esc(dirty)),
            Cell(esc(python)),
            Cell(str(count), count),
        ]
        for (package, commit, dirty, python), count in sorted(combos.items())
    ]
    return table(["crfm_eval", "git commit", "uncommitted changes", "python", "runs"], rows)


def _library_table(runs: list[Run]) -> str:
    versions: dict[str, Counter] = {}
    for run in runs:
        for library, version in (run.manifest.get("library_versions") or {}).items():
            versions.setdefault(library, Counter())[str(version) if version else "not installed"] += 1
    rows = [
        [
            Cell(esc(library), library),
            Cell(esc(", ".join(f"{version} ({count} runs)" for version, count in sorted(counts.items())))),
        ]
        for library, counts in sorted(versions.items())
    ]
    return table(["library", "versions"], rows)


def _problem_folders(found: RunsFound) -> str:
    if not found.incomplete and not found.unreadable:
        return ""
    items = [
        f"<li><code>{esc(path)}</code>: no manifest.json (unfinished or killed run)</li>" for path in found.incomplete
    ]
    items += [f"<li><code>{esc(path)}</code>: unreadable ({esc(reason)})</li>" for path, reason in found.unreadable]
    return "## Folders left out\n" + raw_block("<ul>" + "".join(items) + "</ul>")


def runs_page(found: RunsFound, context: SiteContext) -> str:
    """Every run with its configuration at a glance and a link to its page."""
    parts = [WIDE + "# Runs\n"]
    if not found.runs:
        return "\n".join(parts) + _no_runs(found, context)
    rows = []
    for run in found.runs:
        href = context.href(paths.RUNS, paths.run_page(run.suite, run.run_name))
        manifest = run.manifest
        rows.append(
            [
                Cell(f'<a href="{href}">{esc(run.run_name)}</a>', run.run_name),
                Cell(esc(run.suite), run.suite),
                Cell(esc(run.scenario), run.scenario),
                Cell(esc(run.model), run.model),
                Cell(esc(run.adaptation), run.adaptation),
                Cell(esc(manifest.get("num_instances", "—")), manifest.get("num_instances")),
                Cell(esc(_finished(run)), run.finished_at.timestamp()),
                Cell(esc(fmt(manifest.get("wall_time_seconds"), 1)), manifest.get("wall_time_seconds")),
                Cell(f"<code>{esc(str(manifest.get('git_commit') or 'unknown')[:12])}</code>"),
                Cell(esc(manifest.get("num_failed_requests", "—")), manifest.get("num_failed_requests")),
            ]
        )
    headers = [
        "run",
        "suite",
        "scenario",
        "model",
        "adaptation",
        "instances",
        "finished",
        "wall time (s)",
        "commit",
        "failed requests",
    ]
    return "\n".join(parts) + raw_block(table(headers, rows, id="runs")) + _problem_folders(found)


def leaderboard_page(found: RunsFound, leaderboard: Leaderboard, context: SiteContext) -> str:
    parts = [
        WIDE + "# Leaderboard\n",
        raw_block(
            "<p>One table per scenario, one row per run. Each cell is the mean over the eval instances with its "
            "95% confidence interval in brackets. Click a column header to sort by it (again to reverse). "
            f"<em>Win rate</em> is the fraction of other entries an entry beats on <code>{esc(leaderboard.primary)}</code>, "
            "averaged over scenarios. The last column names the entries whose difference from the row is "
            f"<strong>not statistically significant</strong> (paired test on the same instances, p ≥ {ALPHA}). "
            f'<a href="{context.href(paths.LEADERBOARD, paths.ABOUT)}">How these numbers are computed</a>.</p>'
        ),
    ]
    if not found.runs:
        return "\n".join(parts) + _no_runs(found, context)
    if len(leaderboard.groups) > 1:
        parts.append("## Across scenarios\n")
        parts.append(raw_block(_overall_table(leaderboard)))
    for group in leaderboard.groups:
        parts.append(f"## {paths.md(group.scenario)}\n")
        parts.append(
            raw_block(
                f"<p>Split <code>{esc(group.split or '—')}</code>.</p>",
                _group_table(group, leaderboard, context),
                _parts_table(group, leaderboard.primary),
                _group_chart(group, leaderboard.primary),
                _pairwise_details(group),
            )
        )
    return "\n".join(parts)


def _overall_table(leaderboard: Leaderboard) -> str:
    def rank(entry: str) -> float:
        rate = leaderboard.win_rates[entry]
        return -rate if rate is not None else 1.0

    entries = sorted(leaderboard.win_rates, key=rank)
    rows = []
    for entry in entries:
        rate = leaderboard.win_rates[entry]
        row = [Cell(esc(entry), entry), Cell(esc(fmt(rate)), rate)]
        for group in leaderboard.groups:
            found = next((r for r in group.rows if r.entry == entry), None)
            stat = found.cells.get(leaderboard.primary) if found else None
            row.append(Cell(stat_span(leaderboard.primary, stat), stat.get("mean") if stat else None))
        rows.append(row)
    headers = ["entry", "win rate", *(f"{group.scenario}: {leaderboard.primary}" for group in leaderboard.groups)]
    return table(headers, rows, id="leaderboard-overall")


def _indistinguishable_cell(group: Group, row: Row, metric: str) -> Cell:
    if len(group.rows) < 2:
        return Cell("—")
    ties = group.indistinguishable(metric, row.entry)
    if not ties:
        return Cell("none: every difference is significant", 0)
    items = ", ".join(f"{esc(entry)} (p = {test.p_value:.3f})" for entry, test in ties)
    return Cell(f'<span class="crfm-ns">≈ {items}</span>', len(ties))


def _group_table(group: Group, leaderboard: Leaderboard, context: SiteContext) -> str:
    rows = []
    for row in group.rows:
        href = context.href(paths.LEADERBOARD, paths.run_page(row.run.suite, row.run.run_name))
        cells = [
            Cell(f'<a href="{href}">{esc(row.entry)}</a>', row.entry),
        ]
        for metric in group.metrics:
            stat = row.cells.get(metric)
            cells.append(Cell(stat_span(metric, stat), stat.get("mean") if stat else None))
        primary_stat = row.cells.get(leaderboard.primary)
        count = primary_stat.get("count") if primary_stat else None
        cells.append(Cell(esc(count if count is not None else "—"), count))
        cells.append(Cell(f'<span class="crfm-win-rate">{esc(fmt(row.win_rate))}</span>', row.win_rate))
        cells.append(_indistinguishable_cell(group, row, leaderboard.primary))
        rows.append(cells)
    headers = ["entry", *group.metrics, "instances", "win rate", f"not significantly different ({leaderboard.primary})"]
    return table(headers, rows, id=f"leaderboard-{paths.segment(group.scenario)}", data_scenario=group.scenario)


def _parts_table(group: Group, metric: str) -> str:
    """The primary metric on each part of the split (e.g. MMLU's subjects and their macro average), a row
    per part and a column per entry; empty when the runs report no parts."""
    if not group.parts:
        return ""
    rows = []
    for part in group.parts:
        cells = [Cell(esc(part), part)]
        for row in group.rows:
            stat = row.part_cells.get(part)
            cells.append(Cell(stat_span(metric, stat), stat.get("mean") if stat else None))
        rows.append(cells)
    meanings = {
        MACRO_AVERAGE: "<code>macro_average</code> is the mean of the parts' means (each part counts once)",
        CONSISTENCY: "<code>consistency</code> the share of contrast sets whose every question is right",
    }
    said = [meaning for part, meaning in meanings.items() if part in group.parts]
    intro = f"<p>{esc(metric)} on each part of the split{': ' + ', '.join(said) if said else ''}.</p>"
    headers = ["part", *(row.entry for row in group.rows)]
    return intro + table(headers, rows, id=f"parts-{paths.segment(group.scenario)}", data_scenario=group.scenario)


def _point(stat: Optional[dict]) -> Optional[Point]:
    if stat is None or stat.get("mean") is None:
        return None
    return Point(stat["mean"], stat.get("ci_low"), stat.get("ci_high"))


def _group_chart(group: Group, metric: str) -> str:
    items = [(row.entry, _point(row.cells.get(metric))) for row in group.rows]
    return '<figure class="crfm-figure">' + interval_chart(f"{group.scenario}: {metric}", metric, items) + "</figure>"


def _pairwise_details(group: Group) -> str:
    """Every pair's paired test, per metric: difference of means, p-value, and n.s. when not significant."""
    if len(group.rows) < 2:
        return ""
    blocks = []
    for metric in group.metrics:
        entries = [row.entry for row in group.rows]
        rows = []
        for a in entries:
            cells = [Cell(esc(a), a)]
            for b in entries:
                test = group.test(metric, a, b)
                if a == b or test is None:
                    cells.append(Cell("—" if a == b else "no shared instances"))
                    continue
                verdict = "n.s." if not test.significant else "significant"
                cells.append(
                    Cell(
                        f'<span class="crfm-{"ns" if not test.significant else "sig"}" title="{esc(test.method)}, '
                        f'{test.num_pairs} paired instances">Δ {test.mean_difference:+.3f}, p = {test.p_value:.3g} ({verdict})</span>',
                        test.p_value,
                    )
                )
            rows.append(cells)
        blocks.append(
            f"<p><strong>{esc(metric)}</strong>: row minus column.</p>"
            + table(["entry", *entries], rows, sortable=False)
        )
    methods = sorted({test.method for tests in group.tests.values() for test in tests.values() if test is not None})
    return (
        f"<details><summary>Paired tests between every two entries ({esc(', '.join(methods))}; "
        f"n.s. = not significant at p ≥ {ALPHA}, no multiple-comparison correction)</summary>"
        + "".join(blocks)
        + "</details>"
    )


def plots_page(found: RunsFound, leaderboard: Leaderboard, context: SiteContext) -> str:
    parts = ["# Plots\n"]
    if not found.runs:
        return "\n".join(parts) + _no_runs(found, context)
    metric = leaderboard.primary
    for group in leaderboard.groups:
        parts.append(f"## {paths.md(group.scenario)}\n")
        figures = [_group_chart(group, metric)]
        series: dict[str, list[tuple[int, Point]]] = {}
        for row in group.rows:
            point = _point(row.cells.get(metric))
            if point is not None and row.run.num_shots is not None:
                series.setdefault(row.run.model, []).append((row.run.num_shots, point))
        if any(len({shots for shots, _ in points}) > 1 for points in series.values()):
            chart = shots_chart(f"{group.scenario}: {metric} against in-context examples", metric, series)
            figures.append('<figure class="crfm-figure crfm-shots">' + chart + "</figure>")
        else:
            figures.append(
                "<p>Accuracy against the number of in-context examples needs a model run with two or more "
                "adaptations (e.g. <code>adaptation=0shot</code> and <code>adaptation=5shot</code>).</p>"
            )
        parts.append(raw_block(*figures))
    return "\n".join(parts)
