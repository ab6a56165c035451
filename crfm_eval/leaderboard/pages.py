"""The site-wide generated pages: home, plots, the list of runs, the About page and the instance viewer.

Each function returns a PageSource: Markdown headings and prose, and HTML blocks built from
escaped text (the leaderboard and scenario pages are in leaderboard_page.py, a run's page in
run_pages.py).
"""

import datetime as dt
from collections import Counter
from importlib import resources
from typing import Optional

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.context import SiteContext
from crfm_eval.leaderboard.cost_and_trials import trial_means, trials_chart
from crfm_eval.leaderboard.html import Cell, PageSource, esc, fmt, root_of, table
from crfm_eval.leaderboard.plots import Point, interval_chart, shots_chart
from crfm_eval.leaderboard.runs import Run, RunsFound
from crfm_eval.leaderboard.significance import ALPHA, HOLM
from crfm_eval.leaderboard.tables import Group, Leaderboard

RUN_COMMAND = "python -m crfm_eval scenario=boolq adaptation=5shot"
WIDE = "---\nhide:\n  - toc\n---\n\n"
"""Front matter that drops Material's table-of-contents sidebar, leaving wide tables more room."""


def no_runs(found: RunsFound, context: SiteContext) -> str:
    return (
        f'<p class="crfm-empty">No runs found under <code>{esc(found.output_dir / "runs")}</code> yet. '
        f"Make one with <code>{esc(RUN_COMMAND)}</code> and build again, or point "
        f"<code>{esc(context.env_variable)}</code> at another output dir.</p>"
    )


def _utc(moment: dt.datetime, with_zone: bool = True) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M" + (" UTC" if with_zone else ""))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


def home_page(found: RunsFound, leaderboard: Leaderboard, context: SiteContext) -> PageSource:
    """What was evaluated, when, and with which versions of the code and libraries."""
    page = PageSource()
    page.text("# crfm_eval results\n")
    source = f"<p>Built {esc(_utc(context.built_at))} from <code>{esc(found.output_dir)}</code>"
    source += f" (set <code>{esc(context.env_variable)}</code> to build from another output dir).</p>"
    runs = found.runs
    if not runs:
        page.block(source, no_runs(found, context))
    else:
        first, last = min(run.finished_at for run in runs), max(run.finished_at for run in runs)
        models = sorted({run.model for run in runs})
        scenarios = [group.scenario for group in leaderboard.groups]
        summary = (
            f"<p>{_plural(len(runs), 'run')} of {_plural(len(models), 'model')} ({esc(', '.join(models))}) "
            f"on {_plural(len(scenarios), 'scenario')} ({esc(', '.join(scenarios))}), finished between "
            f"{esc(_utc(first, False))} and {esc(_utc(last))}. "
            f'See the <a href="{context.href(paths.HOME, paths.LEADERBOARD)}">leaderboard</a>, the '
            f'<a href="{context.href(paths.HOME, paths.PLOTS)}">plots</a>, '
            f'<a href="{context.href(paths.HOME, paths.RUNS)}">every run</a> and '
            f'<a href="{context.href(paths.HOME, paths.INSTANCES)}">every instance</a>.</p>'
        )
        page.block(source, summary)
        page.text("## What was evaluated\n")
        page.block(_scenario_table(leaderboard, context))
        page.text("## Versions\n")
        page.block(_versions_table(runs), _library_table(runs))
    if found.unfinished or found.unreadable:
        page.text("## Runs not shown\n")
        page.block(_not_shown(found, context, paths.HOME))
    return page


def _scenario_table(leaderboard: Leaderboard, context: SiteContext) -> str:
    rows = []
    for group in leaderboard.groups:
        cells = [row.cells.get(group.primary) for row in group.rows] if group.primary else []
        counts = sorted({cell["count"] for cell in cells if cell is not None})
        href = context.href(paths.HOME, paths.scenario_page(group.scenario))
        rows.append(
            [
                Cell(f'<a href="{href}">{esc(group.scenario)}</a>', group.scenario),
                Cell(esc(group.split or "—")),
                Cell(str(len(group.rows)), len(group.rows)),
                Cell(esc(", ".join(sorted({row.run.model for row in group.rows})))),
                Cell(esc(", ".join(sorted({row.run.adaptation for row in group.rows})))),
                Cell(esc(", ".join(str(count) for count in counts) or "—")),
            ]
        )
    return table(["scenario", "split", "runs", "models", "adaptations", "instances"], rows)


def _yes_no(value: object) -> str:
    return "unknown" if value is None else "yes" if value else "no"


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


def _not_shown(found: RunsFound, context: SiteContext, here: str) -> str:
    """Folders that hold no complete run, each with its state and, for a failed job, its error."""
    rows = []
    for folder in found.unfinished:
        spec = folder.run_spec or {}
        what = " · ".join(
            str(spec.get(part, {}).get("name")) for part in ("scenario", "model", "adaptation") if spec.get(part)
        )
        rows.append(
            [
                Cell(f"<code>{esc(folder.suite)}/{esc(folder.run_name)}</code>", f"{folder.suite}/{folder.run_name}"),
                Cell(
                    f'<span class="crfm-state crfm-state-{esc(folder.state.split()[0])}">{esc(folder.state)}</span>',
                    folder.state,
                ),
                Cell(f'<span class="crfm-error-line">{esc(folder.error)}</span>' if folder.error else "—"),
                Cell(esc(what or "—")),
            ]
        )
    for path, reason in found.unreadable:
        rows.append(
            [
                Cell(f"<code>{esc(path.parent.name)}/{esc(path.name)}</code>"),
                Cell('<span class="crfm-state crfm-state-unreadable">unreadable</span>', "unreadable"),
                Cell(f'<span class="crfm-error-line">{esc(reason)}</span>'),
                Cell("—"),
            ]
        )
    note = (
        "<p><em>failed</em>: the job ended with the error shown (rerun the command after fixing it); "
        "<em>running or killed</em>: a job started and has not ended; <em>unfinished</em>: no manifest.json, "
        "no record of a job.</p>"
    )
    return note + table(["run folder", "state", "error", "what"], rows, id="runs-not-shown")


def runs_page(found: RunsFound, leaderboard: Leaderboard, context: SiteContext) -> PageSource:
    """Every run with its configuration at a glance, its state, and links to its page and instances."""
    page = PageSource()
    page.text(WIDE + "# Runs\n")
    if not found.runs and not found.unfinished and not found.unreadable:
        page.block(no_runs(found, context))
        return page
    labels = {row.run.key: row.label for group in leaderboard.groups for row in group.rows}
    rows = []
    for run in found.runs:
        manifest = run.manifest
        href = context.href(paths.RUNS, paths.run_page(run.suite, run.run_name))
        failed = manifest.get("num_failed_requests")
        state = (
            f'<span class="crfm-state crfm-state-failed">failed</span> <span class="crfm-error-line">{esc(run.failure)}</span>'
            if run.failure
            else '<span class="crfm-state crfm-state-complete">complete</span>'
        )
        rows.append(
            [
                Cell(f'<a href="{href}">{esc(run.run_name)}</a>', run.run_name),
                Cell(esc(labels.get(run.key, "—")), labels.get(run.key, "")),
                Cell(esc(run.suite), run.suite),
                Cell(esc(run.scenario), run.scenario),
                Cell(state, "failed" if run.failure else "complete"),
                Cell(
                    f'<a href="{context.viewer(paths.RUNS, run.key)}">{esc(manifest.get("num_instances", "—"))}</a>',
                    manifest.get("num_instances"),
                ),
                Cell(esc(_utc(run.finished_at)), run.finished_at.timestamp()),
                Cell(esc(fmt(manifest.get("wall_time_seconds"), 1)), manifest.get("wall_time_seconds")),
                Cell(f"<code>{esc(str(manifest.get('git_commit') or 'unknown')[:12])}</code>"),
                Cell(esc(failed if failed is not None else "—"), failed),
            ]
        )
    headers = [
        "run",
        "entry",
        "suite",
        "scenario",
        "state",
        "instances",
        "finished",
        "wall time (s)",
        "commit",
        "failed requests",
    ]
    page.block(table(headers, rows, id="runs"))
    if found.unfinished or found.unreadable:
        page.text("## Runs not shown on the leaderboard\n")
        page.block(_not_shown(found, context, paths.RUNS))
    return page


def point(stat: Optional[dict]) -> Optional[Point]:
    if stat is None or stat.get("mean") is None:
        return None
    return Point(stat["mean"], stat.get("ci_low"), stat.get("ci_high"))


def group_chart(group: Group, metric: str) -> str:
    items = [(row.label, point(row.cells.get(metric))) for row in group.rows]
    return '<figure class="crfm-figure">' + interval_chart(f"{group.scenario}: {metric}", metric, items) + "</figure>"


def group_trials_chart(group: Group, metric: str) -> str:
    """Each entry's mean of `metric` in each train trial, when some entry has several trials ("" otherwise)."""
    items = [(row.label, row.mean(metric), trial_means(row.cells.get(metric))) for row in group.rows]
    if not any(means for _, _, means in items):
        return ""
    chart = trials_chart(f"{group.scenario}: {metric} in each train trial", metric, items)
    return '<figure class="crfm-figure crfm-trials-chart">' + chart + "</figure>"


def plots_page(found: RunsFound, leaderboard: Leaderboard, context: SiteContext) -> PageSource:
    page = PageSource()
    page.text("# Plots\n")
    if not found.runs:
        page.block(no_runs(found, context))
        return page
    for group in leaderboard.groups:
        page.text(f"## {paths.md(group.scenario)}\n")
        if group.primary is None:
            page.block("<p>No stat to plot.</p>")
            continue
        metric = group.primary
        figures = [group_chart(group, metric)]
        if trials_figure := group_trials_chart(group, metric):
            figures.append(trials_figure)
        series: dict[str, list[tuple[int, Point]]] = {}
        for row in group.rows:
            value = point(row.cells.get(metric))
            if value is not None and row.run.num_shots is not None:
                # One line per entry but for its number of examples: the label without the adaptation.
                series.setdefault(row.label.replace(f" · {row.run.adaptation}", "", 1), []).append(
                    (row.run.num_shots, value)
                )
        if any(len({shots for shots, _ in points}) > 1 for points in series.values()):
            chart = shots_chart(f"{group.scenario}: {metric} against in-context examples", metric, series)
            figures.append('<figure class="crfm-figure crfm-shots">' + chart + "</figure>")
        else:
            figures.append(
                "<p>Accuracy against the number of in-context examples needs a model run with two or more "
                "adaptations (e.g. <code>adaptation=0shot</code> and <code>adaptation=5shot</code>).</p>"
            )
        page.block(*figures)
    return page


def about_page(leaderboard: Leaderboard, context: SiteContext) -> PageSource:
    """The About page: how the numbers are computed, with the settings this build used."""
    template = resources.files("crfm_eval.leaderboard").joinpath("assets/about.md").read_text(encoding="utf-8")
    if context.correction == HOLM:
        correction = (
            "**Holm's correction is applied** (plugin option `significance_correction: holm`): on each scenario "
            "and metric, the p-values of all pairs of entries are adjusted together, so that the chance of "
            f"calling any pair significant by mistake stays below {ALPHA}. The site shows both the raw and the "
            "adjusted p-value, and decides on the adjusted one."
        )
    else:
        correction = (
            "**No correction for multiple comparisons is applied** (plugin option `significance_correction: none`): "
            f"each pair is judged at p < {ALPHA} on its own, so with many entries expect some "
            '"significant" differences by chance. Set `significance_correction: holm` to apply Holm\'s correction.'
        )
    page = PageSource()
    page.text(
        template.replace("@@CORRECTION@@", correction)
        .replace("@@ALPHA@@", str(ALPHA))
        .replace("@@MAIN_METRICS@@", ", ".join(f"`{metric}`" for metric in leaderboard.main_metrics))
    )
    return page


VIEWER = """<div id="crfm-viewer" data-root="{root}">
<div class="crfm-viewer-controls">
<label>Run <select name="run"></select></label>
<label>Metric <select name="metric"></select></label>
<label>Split <select name="split"></select></label>
<label hidden>Part <select name="part"></select></label>
<label><input type="checkbox" name="wrong"> <span class="crfm-wrong-label">only wrong answers</span></label>
<label>Search <input type="search" name="q" placeholder="instance id or text" size="28"></label>
</div>
<p><span class="crfm-viewer-status" role="status">Loading the list of runs…</span>
<a class="crfm-run-link" hidden>Run overview</a></p>
<noscript><p>The instance viewer needs JavaScript: it reads the runs' data files (under <code>runs/</code>).</p></noscript>
<table class="crfm-viewer-table"><thead><tr>
<th data-column="order" title="Order in the run">#</th><th title="Right or wrong">✓</th>
<th data-column="id">instance</th><th>split</th><th data-column="trial">trial</th>
<th data-column="value">value</th><th data-column="prediction">answer</th><th>expected</th><th>input</th>
</tr></thead><tbody></tbody></table>
<button type="button" class="md-button crfm-more" hidden>Show more</button>
</div>"""


def instances_page(context: SiteContext) -> PageSource:
    """The instance viewer: the page reads the runs' data files (see run_data.py and instances.js)."""
    page = PageSource()
    page.text(WIDE + "# Instances\n")
    page.text(
        "Every request of a run: filter to the wrong answers, search by instance id or text (input, answer, "
        "expected answer), sort by a column, and click an instance id to see the exact prompt, the completions "
        "and every per-instance value.\n"
    )
    page.block(VIEWER.format(root=esc(root_of(paths.INSTANCES, context.use_directory_urls))))
    return page
