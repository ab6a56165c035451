"""A run's own pages: its configuration, every stat, and its instances in pages of 100.

The instance pages are where a reader checks "what exactly was the model asked, and what did it
say": each request state is a collapsed `<details>` whose summary says right or wrong, and which
opens to the input, references, the exact prompt, every completion and every per-instance value.
All of it is untrusted text and is escaped; prompts and completions sit in `<pre>` so whitespace
and newlines are shown as sent. Instance pages are left out of the search index (front matter),
which would otherwise grow with every prompt of every run.
"""

from typing import Any, Iterator, Optional

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.html import Cell, esc, fmt, json_text, key_values, pre, raw_block, table
from crfm_eval.leaderboard.pages import SiteContext
from crfm_eval.leaderboard.reliability import reliability_section
from crfm_eval.leaderboard.runs import Run

SPEC_GROUPS = ("scenario", "adaptation", "model", "execution", "metric")


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from _flatten(f"{prefix}.{key}" if prefix else str(key), inner)
    else:
        yield prefix, value


def run_page(run: Run, primary: str, context: SiteContext) -> str:
    """Configuration, manifest, every stat and the index of instance pages of one run."""
    here = paths.run_page(run.suite, run.run_name)
    page_count = _page_count(run)
    parts = [f"# {paths.md(run.run_name)}\n"]
    facts = (
        f"<p>Scenario <code>{esc(run.scenario)}</code>, adaptation <code>{esc(run.adaptation)}</code>, "
        f"model <code>{esc(run.model)}</code>, suite <code>{esc(run.suite)}</code>; folder "
        f"<code>{esc(run.path)}</code>. "
        f'<a href="{context.href(here, paths.instances_page(run.suite, run.run_name, 1))}">Browse the instances</a> '
        f"({esc(run.manifest.get('num_requests', '?'))} requests on {page_count} page{'s' if page_count != 1 else ''}).</p>"
        if page_count
        else f"<p>Scenario <code>{esc(run.scenario)}</code>, model <code>{esc(run.model)}</code>: no request states.</p>"
    )
    parts.append(raw_block(facts))
    parts.append("## Configuration\n")
    for group in SPEC_GROUPS:
        spec = run.run_spec.get(group)
        if isinstance(spec, dict):
            parts.append(f"### {paths.md(group.capitalize())}\n")
            parts.append(raw_block(key_values(list(_flatten("", spec)))))
    others = [(key, value) for key, value in run.run_spec.items() if key not in SPEC_GROUPS]
    parts.append("### Run\n")
    parts.append(raw_block(key_values(others)))
    parts.append("## Statistics\n")
    parts.append(
        raw_block(
            "<p>Every entry of <code>stats.json</code> and <code>execution_stats.json</code>; "
            "95% intervals are Wilson's for proportions and Student's t otherwise.</p>",
            _stats_table(run),
        )
    )
    parts.append(reliability_section(run))  # empty for a run without calibration stats
    parts.append("## Manifest\n")
    parts.append(raw_block(key_values(list(_flatten("", run.manifest)))))
    if page_count:
        parts.append("## Instances\n")
        links = [
            f'<li><a href="{context.href(here, paths.instances_page(run.suite, run.run_name, number))}">'
            f"page {number}</a>: request states {start + 1}–{end}</li>"
            for number, start, end in _page_ranges(run)
        ]
        parts.append(
            raw_block(
                f'<p>Correctness below is <code>{esc(primary)}</code>.</p><ul class="crfm-pages">'
                + "".join(links)
                + "</ul>"
            )
        )
    return "\n".join(parts)


def _stats_table(run: Run) -> str:
    rows = []
    for kind, entries in (("stats", run.stats), ("execution", run.execution_stats)):
        for stat in entries:
            rows.append(
                [
                    Cell(f"<code>{esc(stat.get('name'))}</code>", str(stat.get("name"))),
                    Cell(esc(stat.get("split")), str(stat.get("split"))),
                    Cell(esc(stat.get("sub_split") or "—"), str(stat.get("sub_split") or "")),
                    Cell(esc(kind), kind),
                    Cell(esc(stat.get("count")), stat.get("count")),
                    *(
                        Cell(esc(fmt(stat.get(key), 4)), stat.get(key))
                        for key in ("mean", "ci_low", "ci_high", "stddev", "min", "max", "sum")
                    ),
                ]
            )
    headers = ["name", "split", "part", "file", "count", "mean", "ci_low", "ci_high", "stddev", "min", "max", "sum"]
    return table(headers, rows, id="run-stats")


def _page_count(run: Run) -> int:
    requests = run.manifest.get("num_requests")
    if not isinstance(requests, int):
        requests = len(run.per_instance())
    return -(-requests // paths.INSTANCES_PER_PAGE)


def _page_ranges(run: Run) -> list[tuple[int, int, int]]:
    total = run.manifest.get("num_requests") or len(run.per_instance())
    size = paths.INSTANCES_PER_PAGE
    return [(index + 1, start, min(start + size, total)) for index, start in enumerate(range(0, total, size))]


def instance_pages(run: Run, primary: str, context: SiteContext) -> dict[str, str]:
    """Source path -> Markdown of each page of the run's request states (INSTANCES_PER_PAGE a page)."""
    states = run.request_states()
    values = {
        (str(entry.get("instance_id")), entry.get("train_trial_index")): entry.get("values", {})
        for entry in run.per_instance()
    }
    size = paths.INSTANCES_PER_PAGE
    count = -(-len(states) // size)
    pages = {}
    for number in range(1, count + 1):
        chunk = states[(number - 1) * size : number * size]
        src = paths.instances_page(run.suite, run.run_name, number)
        first = (number - 1) * size + 1
        header = (
            "---\nsearch:\n  exclude: true\nhide:\n  - toc\n---\n\n"
            f"# {paths.md(run.run_name)}: instances {first}–{first + len(chunk) - 1} of {len(states)}\n"
        )
        body = [_pager(run, number, count, src, context)]
        body.append(
            '<p class="crfm-legend">✓ right, ✗ wrong on <code>'
            + esc(primary)
            + "</code>; click an instance to open it. "
            '<button type="button" class="md-button crfm-toggle" data-crfm-toggle>Open all</button></p>'
        )
        for state in chunk:
            instance = state.get("instance", {})
            key = (str(instance.get("id")), state.get("train_trial_index"))
            body.append(_state_details(state, values.get(key, {}), primary))
        body.append(_pager(run, number, count, src, context))
        pages[src] = header + raw_block(*body)
    return pages


def _pager(run: Run, number: int, count: int, src: str, context: SiteContext) -> str:
    def page_link(target: int, label: str) -> str:
        return f'<a href="{context.href(src, paths.instances_page(run.suite, run.run_name, target))}">{esc(label)}</a>'

    items = [f'<a href="{context.href(src, paths.run_page(run.suite, run.run_name))}">run overview</a>']
    if number > 1:
        items.append(page_link(number - 1, "← previous"))
    items.append(f"page {number} of {count}")
    if number < count:
        items.append(page_link(number + 1, "next →"))
    numbers = " ".join(
        page_link(target, str(target)) if target != number else f"<strong>{target}</strong>"
        for target in range(1, count + 1)
    )
    return f'<nav class="crfm-pager">{" · ".join(items)}<br>{numbers}</nav>'


def _verdict(value: Optional[float]) -> tuple[str, str]:
    if value is None:
        return "crfm-unscored", "no score"
    if value >= 1.0:
        return "crfm-right", "✓"
    if value <= 0.0:
        return "crfm-wrong", "✗"
    return "crfm-partial", fmt(value, 2)


def _state_details(state: dict[str, Any], values: dict[str, float], primary: str) -> str:
    instance = state.get("instance", {})
    request = state.get("request", {})
    result = state.get("result") or {}
    completions = result.get("completions") or []
    css, mark = _verdict(values.get(primary))
    prediction = completions[0].get("text", "") if completions else ""
    gold = [ref.get("output", "") for ref in instance.get("references", []) if "correct" in (ref.get("tags") or [])]
    summary = (
        f'<summary><span class="crfm-mark {css}">{esc(mark)}</span> <code>{esc(instance.get("id"))}</code> '
        f"· trial {esc(state.get('train_trial_index'))} · answered <code>{esc(_short(json_text(prediction)))}</code> "
        f"· expected <code>{esc(_short(', '.join(json_text(g) for g in gold) or '—'))}</code></summary>"
    )
    references = "".join(
        f"<li><code>{esc(json_text(ref.get('output', '')))}</code>"
        + (f" <em>{esc(', '.join(ref.get('tags') or []))}</em>" if ref.get("tags") else "")
        + "</li>"
        for ref in instance.get("references", [])
    )
    completion_blocks = "".join(
        f"<p>Completion {index + 1} (log probability {esc(fmt(completion.get('logprob'), 3))}, "
        f"finish reason <code>{esc(completion.get('finish_reason'))}</code>, {len(completion.get('tokens') or [])} tokens)</p>"
        + pre(completion.get("text", ""))
        for index, completion in enumerate(completions)
    )
    if not result.get("success", False):
        completion_blocks += f"<p>Request failed: {esc(result.get('error') or 'no result')}</p>"
    prompt_facts = (
        f"{esc(state.get('num_prompt_tokens'))} tokens, {esc(state.get('num_train_instances'))} in-context examples "
        f"({esc(', '.join(state.get('train_instance_ids') or []) or 'none')})"
        + (", <strong>truncated to fit</strong>" if state.get("prompt_truncated") else "")
    )
    decoding = {
        key: request.get(key)
        for key in ("model", "temperature", "max_tokens", "stop_sequences", "num_completions")
        if key in request
    }
    value_rows = [
        [Cell(f"<code>{esc(name)}</code>"), Cell(esc(fmt(value, 4)))] for name, value in sorted(values.items())
    ]
    return (
        f'<details class="crfm-instance {css}" data-instance-id="{esc(instance.get("id"))}">{summary}'
        f"<p><strong>Input</strong> (split <code>{esc(instance.get('split'))}</code>)</p>{pre(instance.get('input', ''))}"
        f"<p><strong>References</strong></p><ul>{references}</ul>"
        f"<p><strong>Prompt sent</strong>: {prompt_facts}</p>{pre(request.get('prompt', ''))}"
        f"<p><strong>Request</strong>: <code>{esc(json_text(decoding))}</code>; "
        f"cached {esc(result.get('cached'))}, request time {esc(fmt(result.get('request_time'), 4))} s</p>"
        f"{completion_blocks}"
        f"<p><strong>Per-instance values</strong></p>{table(['metric', 'value'], value_rows, sortable=False, data_compact='1')}"
        "</details>"
    )


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
