"""The leaderboard page (main metrics of every scenario, win rates, significance) and one page per
scenario with all its stats, grouped the way HELM groups metrics.

Every number links to the instance viewer, showing the run's instances judged by that metric.
"""

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.context import SiteContext
from crfm_eval.leaderboard.cost_and_trials import cost_cell, latency_cell
from crfm_eval.leaderboard.html import Cell, PageSource, esc, fmt, table
from crfm_eval.leaderboard.metric_groups import group_title
from crfm_eval.leaderboard.pages import WIDE, group_chart, group_trials_chart, no_runs
from crfm_eval.leaderboard.runs import RunsFound
from crfm_eval.leaderboard.significance import ALPHA, HOLM, PairedTest
from crfm_eval.leaderboard.tables import Group, Leaderboard, Row
from crfm_eval.states import CONSISTENCY, MACRO_AVERAGE

PAIRWISE_MATRIX_MAX = 20
"""Above this many entries, the matrix of every pair's test is not drawn (each row still lists its ties)."""

TIES_INLINE = 6
"""A row's ties beyond this many are folded under a summary."""


def _p_text(test: PairedTest) -> str:
    if test.p_adjusted is None:
        return f"p = {test.p_value:.3g}"
    return f"p = {test.p_value:.3g}, Holm {test.p_adjusted:.3g}"


def _correction_words(leaderboard: Leaderboard) -> str:
    if leaderboard.correction == HOLM:
        return f"p ≥ {ALPHA} after Holm's correction for the number of pairs"
    return f"p ≥ {ALPHA}, no correction for multiple comparisons"


def _entry_cell(row: Row, here: str, context: SiteContext) -> Cell:
    href = context.href(here, paths.run_page(row.run.suite, row.run.run_name))
    failed = (
        f' <span class="crfm-state crfm-state-failed" title="{esc(row.run.failure)}">failed</span>'
        if row.run.failure
        else ""
    )
    return Cell(f'<a href="{href}">{esc(row.label)}</a>{failed}', row.label)


def _ties_cell(group: Group, row: Row, metric: str) -> Cell:
    if len(group.rows) < 2:
        return Cell("—")
    ties = group.indistinguishable(metric, row.label)
    if not ties:
        return Cell("none: every difference is significant", 0)
    items = [f"{esc(label)} ({esc(_p_text(test))})" for label, test in ties]
    if len(items) <= TIES_INLINE:
        return Cell(f'<span class="crfm-ns">≈ {", ".join(items)}</span>', len(ties))
    listing = "".join(f"<li>{item}</li>" for item in items)
    return Cell(
        f'<details class="crfm-ties"><summary>≈ {len(ties)} entries</summary><ul class="crfm-ns">{listing}</ul></details>',
        len(ties),
    )


def _setup(group: Group) -> str:
    """How the scenario was evaluated: its split and adaptation(s) (entry labels name an adaptation only
    where a table has several)."""
    names = ", ".join(f"<code>{esc(name)}</code>" for name in group.adaptations)
    plural = "s" if len(group.adaptations) > 1 else ""
    return f"Split <code>{esc(group.split or '—')}</code>, adaptation{plural} {names or '—'}"


def main_table(group: Group, leaderboard: Leaderboard, context: SiteContext, here: str) -> str:
    rows = []
    for row in group.rows:
        cells = [_entry_cell(row, here, context)]
        cells += [context.stat_cell(here, row.run.key, metric, row.cells.get(metric)) for metric in group.main_metrics]
        primary = row.cells.get(group.primary) if group.primary else None
        count = primary.get("count") if primary else None
        cells.append(Cell(esc(count if count is not None else "—"), count))
        cells += [cost_cell(row.run), latency_cell(row.run)]
        cells.append(Cell(f'<span class="crfm-win-rate">{esc(fmt(row.win_rate))}</span>', row.win_rate))
        if group.primary:
            cells.append(_ties_cell(group, row, group.primary))
        rows.append(cells)
    headers = ["entry", *group.main_metrics, "instances", "cost ($)", "request time (s): mean / p95", "win rate"]
    if group.primary:
        headers.append(f"not significantly different ({group.primary})")
    return table(headers, rows, id=f"leaderboard-{paths.segment(group.scenario)}", data_scenario=group.scenario)


PART_MEANINGS = {
    MACRO_AVERAGE: "<code>macro_average</code> is the mean of the parts' means (each part counts once)",
    CONSISTENCY: "<code>consistency</code> the share of contrast sets whose every question is right",
}


def parts_table(group: Group, context: SiteContext, here: str) -> str:
    """The primary metric on each part of the split (e.g. MMLU's subjects and their macro average), a
    row per part and a column per entry; "" when the runs report no parts. Each number links to the
    instances of that part (an aggregate's, to the whole split's)."""
    if not group.parts or group.primary is None:
        return ""
    rows = []
    for part in group.parts:
        cells = [Cell(esc(part), part)]
        for row in group.rows:
            cells.append(context.stat_cell(here, row.run.key, group.primary, row.part_cells.get(part)))
        rows.append(cells)
    said = [meaning for part, meaning in PART_MEANINGS.items() if part in group.parts]
    intro = f"<p>{esc(group.primary)} on each part of the split{': ' + ', '.join(said) if said else ''}.</p>"
    headers = ["part", *(row.label for row in group.rows)]
    return intro + table(headers, rows, id=f"parts-{paths.segment(group.scenario)}", data_scenario=group.scenario)


def _overall_table(leaderboard: Leaderboard, context: SiteContext) -> str:
    def rank(label: str) -> tuple[float, str]:
        rate = leaderboard.win_rates[label]
        return (-rate if rate is not None else 1.0, label)

    rows = []
    for label in sorted(leaderboard.win_rates, key=rank):
        rate = leaderboard.win_rates[label]
        cells = [Cell(esc(label), label), Cell(esc(fmt(rate)), rate)]
        for group in leaderboard.groups:
            found = next((row for row in group.rows if row.label == label), None)
            if found is None or group.primary is None:
                cells.append(Cell("—"))
            else:
                cells.append(
                    context.stat_cell(paths.LEADERBOARD, found.run.key, group.primary, found.cells.get(group.primary))
                )
        rows.append(cells)
    headers = ["entry", "win rate", *(f"{group.scenario}: {group.primary or '—'}" for group in leaderboard.groups)]
    return table(headers, rows, id="leaderboard-overall")


def pairwise_details(group: Group, leaderboard: Leaderboard) -> str:
    """Every pair's paired test per main metric: difference of means, p-value(s), verdict."""
    if len(group.rows) < 2 or not group.tests:
        return ""
    labels = [row.label for row in group.rows]
    methods = sorted({test.method for tests in group.tests.values() for test in tests.values() if test is not None})
    summary = (
        f"Paired tests between every two entries ({esc(', '.join(methods))}; "
        f"n.s. = not significant: {esc(_correction_words(leaderboard))})"
    )
    if len(labels) > PAIRWISE_MATRIX_MAX:
        return (
            f"<details><summary>{summary}</summary><p>With {len(labels)} entries the matrix of all "
            f"{len(labels) * (len(labels) - 1) // 2} pairs is not drawn: each row of the table lists the entries "
            "it is not significantly different from, with the p-values.</p></details>"
        )
    blocks = []
    for metric, tests in group.tests.items():
        rows = []
        for a in labels:
            cells = [Cell(esc(a), a)]
            for b in labels:
                test = tests.get((a, b))
                if a == b or test is None:
                    cells.append(Cell("—" if a == b else "no shared instances"))
                    continue
                verdict = "significant" if test.significant else "n.s."
                css = "crfm-sig" if test.significant else "crfm-ns"
                cells.append(
                    Cell(
                        f'<span class="{css}" title="{esc(test.method)}, {test.num_pairs} paired instances">'
                        f"Δ {test.mean_difference:+.3f}, {esc(_p_text(test))} ({verdict})</span>",
                        test.decisive_p,
                    )
                )
            rows.append(cells)
        blocks.append(
            f"<p><strong>{esc(metric)}</strong>: row minus column.</p>"
            + table(["entry", *labels], rows, sortable=False)
        )
    return f"<details><summary>{summary}</summary>" + "".join(blocks) + "</details>"


def leaderboard_page(found: RunsFound, leaderboard: Leaderboard, context: SiteContext) -> PageSource:
    page = PageSource()
    page.text(WIDE + "# Leaderboard\n")
    page.block(
        "<p>One table per scenario, one row per entry. Each cell is the mean over the eval instances with its "
        "95% confidence interval in brackets; <strong>click a number to see the instances behind it</strong>. "
        "Click a column header to sort by it (again to reverse). <em>Win rate</em> is the fraction of other entries "
        "an entry beats on each scenario's first main metric, averaged over scenarios. The last column names the "
        f"entries whose difference from the row is <strong>not statistically significant</strong> "
        f"(paired test on the same instances, {esc(_correction_words(leaderboard))}). "
        f'<a href="{context.href(paths.LEADERBOARD, paths.ABOUT)}">How these numbers are computed</a>.</p>'
    )
    if not found.runs:
        page.block(no_runs(found, context))
        return page
    if len(leaderboard.groups) > 1:
        page.text("## Across scenarios\n")
        page.block(_overall_table(leaderboard, context))
    for group in leaderboard.groups:
        page.text(f"## {paths.md(group.scenario)}\n")
        scenario_href = context.href(paths.LEADERBOARD, paths.scenario_page(group.scenario))
        parts = [
            f'<p>{_setup(group)}. <a href="{scenario_href}">Every metric of {esc(group.scenario)}, by group</a>.</p>',
            main_table(group, leaderboard, context, paths.LEADERBOARD),
            parts_table(group, context, paths.LEADERBOARD),
        ]
        if group.primary:
            parts.append(group_chart(group, group.primary))
            parts.append(group_trials_chart(group, group.primary))
        parts.append(pairwise_details(group, leaderboard))
        page.block(*parts)
    return page


def scenario_page(group: Group, leaderboard: Leaderboard, context: SiteContext) -> PageSource:
    """All of a scenario's stats on its split, one table per metric group (accuracy, calibration, ...)."""
    here = paths.scenario_page(group.scenario)
    page = PageSource()
    page.text(f"{WIDE}# {paths.md(group.scenario)}\n")
    page.block(
        f"<p>{_setup(group)}, {len(group.rows)} entries. Metrics are grouped as the "
        "runs' metrics describe them (metric_info.json); hover a column header for what it measures. "
        "Each number links to the instances behind it.</p>"
    )
    for name, metrics in group.metric_groups:
        page.text(f"## {paths.md(group_title(name))}\n")
        rows = []
        for row in group.rows:
            cells = [_entry_cell(row, here, context)]
            cells += [context.stat_cell(here, row.run.key, metric, row.cells.get(metric)) for metric in metrics]
            rows.append(cells)
        headers = ["entry", *metrics]
        titles = ["", *(leaderboard.info(metric).tooltip for metric in metrics)]
        page.block(table(headers, rows, titles=titles, data_group=name, data_scenario=group.scenario))
    if len(group.rows) > 1 and group.tests:
        page.text("## Significance\n")
        page.block(pairwise_details(group, leaderboard))
    return page
