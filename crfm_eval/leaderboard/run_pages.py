"""A run's page: what it is, its configuration, every stat (each linking to its instances), its manifest.

A hundred runs make a hundred such pages, and rendering each through MkDocs (Markdown, then the
theme's templates) is most of what the site used to cost. So MkDocs renders one *shell* page, at
the same depth as every run page (`runs/<suite>/<run>/index.md`, so that its relative links to
styles, scripts and other pages hold for them all), with fixed headings and a placeholder per
section; each run's page is that HTML with the run's blocks, title and path put in. Run pages are
therefore not in MkDocs' search index: the plugin adds one search entry per run instead.
"""

from typing import Any, Iterator

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.context import SiteContext
from crfm_eval.leaderboard.html import Cell, esc, fmt, json_text, key_values, table
from crfm_eval.leaderboard.reliability import reliability_html
from crfm_eval.leaderboard.runs import AGGREGATE_PARTS, Run
from crfm_eval.leaderboard.tables import Leaderboard

TITLE = "CRFMRUNTITLE"
"""The shell's title, replaced by the run's name (letters only, so Markdown leaves it as it is)."""
SECTIONS = ("facts", "configuration", "statistics", "manifest")
SPEC_GROUPS = ("scenario", "adaptation", "model", "execution", "metric")


def _marker(section: str) -> str:
    return f"<!--crfm-run-{section}-->"


def shell_markdown() -> str:
    """The Markdown of the shell page: fixed headings (they make the table of contents) and placeholders."""
    return (
        "---\nsearch:\n  exclude: true\n---\n\n"
        f"# {TITLE}\n\n{_marker('facts')}\n\n"
        f"## Configuration\n\n{_marker('configuration')}\n\n"
        f"## Statistics\n\n{_marker('statistics')}\n\n"
        f"## Manifest\n\n{_marker('manifest')}\n"
    )


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    else:
        yield prefix, value


def run_page_html(shell: str, run: Run, label: str, leaderboard: Leaderboard, context: SiteContext) -> str:
    """The run's page: the rendered shell with the run's title, path and sections in place."""
    here = paths.run_page(run.suite, run.run_name)
    sections = {
        "facts": _facts(run, label, leaderboard, context, here),
        "configuration": _configuration(run),
        "statistics": _statistics(run, leaderboard, context, here),
        "manifest": '<div class="crfm">' + key_values(list(_flatten("", run.manifest))) + "</div>",
    }
    page = shell.replace(paths.SHELL_SUITE, paths.segment(run.suite)).replace(
        paths.SHELL_RUN, paths.segment(run.run_name)
    )
    page = page.replace(TITLE, esc(run.run_name)).replace(TITLE.lower(), "run")  # the heading's id
    for section, content in sections.items():
        page = page.replace(_marker(section), content, 1)
    return page


def _facts(run: Run, label: str, leaderboard: Leaderboard, context: SiteContext, here: str) -> str:
    group = next((group for group in leaderboard.groups if any(row.run is run for row in group.rows)), None)
    primary = group.primary if group else None
    split = group.split if group else None
    state = (
        f'<p class="crfm-state-line"><span class="crfm-state crfm-state-failed">failed</span> '
        f'<span class="crfm-error-line">{esc(run.failure)}</span></p>'
        if run.failure
        else ""
    )
    instances = run.digest.get("num_instances", "?")
    links = f'<a href="{context.viewer(here, run.key)}">Browse its {esc(instances)} instances</a>'
    if primary:
        links += f', or <a href="{context.viewer(here, run.key, primary, split, wrong=True)}">only the wrong ones</a>'
    return (
        '<div class="crfm">'
        + state
        + f"<p>Entry <strong>{esc(label)}</strong>: scenario <code>{esc(run.scenario)}</code>, adaptation "
        f"<code>{esc(run.adaptation)}</code>, model <code>{esc(run.model)}</code>, suite <code>{esc(run.suite)}</code>; "
        f"folder <code>{esc(run.path)}</code>. {links} "
        f'(<a href="{context.href(here, paths.LEADERBOARD)}">leaderboard</a>).</p></div>'
    )


def _configuration(run: Run) -> str:
    parts = []
    for group in SPEC_GROUPS:
        spec = run.run_spec.get(group)
        if isinstance(spec, dict):
            parts.append(f"<h3>{esc(group.capitalize())}</h3>" + key_values(list(_flatten("", spec))))
    others = [(key, value) for key, value in run.run_spec.items() if key not in SPEC_GROUPS]
    parts.append("<h3>Run</h3>" + key_values(others))
    return '<div class="crfm">' + "".join(parts) + "</div>"


def _statistics(run: Run, leaderboard: Leaderboard, context: SiteContext, here: str) -> str:
    with_values = set(run.digest.get("metrics") or [])
    rows = []
    for kind, entries in (("stats", run.stats), ("execution", run.execution_stats)):
        for stat in entries:
            name = str(stat.get("name"))
            shown = f"<code>{esc(name)}</code>"
            if name in with_values:
                part = stat.get("sub_split")
                part = None if part in AGGREGATE_PARTS else part
                shown = f'<a href="{context.viewer(here, run.key, name, stat.get("split"), part=part)}">{shown}</a>'
            rows.append(
                [
                    Cell(shown, name),
                    Cell(esc(stat.get("split")), str(stat.get("split"))),
                    Cell(esc(stat.get("sub_split") or "—"), str(stat.get("sub_split") or "")),
                    Cell(esc(leaderboard.info(name).group), leaderboard.info(name).group),
                    Cell(esc(kind), kind),
                    Cell(esc(stat.get("count")), stat.get("count")),
                    *(
                        Cell(esc(fmt(stat.get(key), 4)), stat.get(key))
                        for key in ("mean", "ci_low", "ci_high", "stddev", "min", "max", "sum")
                    ),
                    Cell(esc(json_text(_extra(stat))) if _extra(stat) else "—"),
                ]
            )
    headers = [
        "name",
        "split",
        "part",
        "group",
        "file",
        "count",
        "mean",
        "ci_low",
        "ci_high",
        "stddev",
        "min",
        "max",
        "sum",
        "other fields",
    ]
    note = (
        "<p>Every entry of <code>stats.json</code> and <code>execution_stats.json</code>; 95% intervals are "
        "Wilson's for proportions and Student's t otherwise. A stat's name links to the instances, sorted or "
        "judged by it.</p>"
    )
    diagram = reliability_html(run)  # "" for a run without calibration stats
    calibration = f"<h3>Calibration</h3>{diagram}" if diagram else ""
    return '<div class="crfm">' + note + table(headers, rows, id="run-stats") + "</div>" + calibration


# sum_squared and variance (kept so that shards merge exactly) are what stddev is computed from.
_STANDARD = {
    "name",
    "split",
    "sub_split",
    "sum_squared",
    "variance",
    "count",
    "mean",
    "ci_low",
    "ci_high",
    "stddev",
    "min",
    "max",
    "sum",
}


def _extra(stat: dict[str, Any]) -> dict[str, Any]:
    """Fields a stat has beyond today's (e.g. a spread across trials): shown as they are."""
    return {key: value for key, value in stat.items() if key not in _STANDARD}
