"""Small HTML helpers for the generated pages. Every piece of data goes through `esc`.

Model outputs, prompts, data set text, even run and model names are untrusted: a completion may
well contain `<script>`. The pages are Markdown files whose dynamic parts are raw HTML blocks, and
Python-Markdown passes raw HTML through untouched, so escaping here is what keeps such text inert:
`esc` turns `<`, `>`, `&` and both quotes into entities, which the browser shows as text.
"""

import html
import json
import posixpath
from dataclasses import dataclass
from typing import Any, Optional, Sequence


def esc(value: Any) -> str:
    """`value` as HTML text (quotes escaped too, so it is also safe inside an attribute)."""
    return html.escape(str(value), quote=True)


def fmt(value: Optional[float], digits: int = 3) -> str:
    """A number as shown on the site; an em dash for a missing one."""
    if value is None:
        return "—"
    return f"{value:.{digits}f}"


def mean_ci(stat: Optional[dict[str, Any]], digits: int = 3) -> str:
    """`mean [ci_low, ci_high]` as plain text, e.g. `0.620 [0.482, 0.741]`; `—` without a mean."""
    if stat is None or stat.get("mean") is None:
        return "—"
    text = fmt(stat["mean"], digits)
    if stat.get("ci_low") is not None and stat.get("ci_high") is not None:
        text += f" [{fmt(stat['ci_low'], digits)}, {fmt(stat['ci_high'], digits)}]"
    return text


def number_attr(value: Optional[float]) -> str:
    """A number for a data attribute, with full precision (repr) so tests and sorting see the file's value."""
    return "" if value is None else repr(float(value))


def pre(text: Any) -> str:
    return f'<pre class="crfm-text">{esc(text)}</pre>'


def json_text(value: Any) -> str:
    """A config value as compact JSON text (strings keep their quotes, so `"\\n"` stays visible)."""
    return json.dumps(value, ensure_ascii=False)


def page_url(src_uri: str, use_directory_urls: bool) -> str:
    """The URL path MkDocs gives the page `src_uri` (e.g. `runs/a/index.md`)."""
    stem = src_uri[: -len(".md")]
    if not use_directory_urls:
        return stem + ".html"
    if stem == "index" or stem.endswith("/index"):
        return stem[: -len("index")]
    return stem + "/"


def link(from_src: str, to_src: str, use_directory_urls: bool) -> str:
    """A relative href from page `from_src` to page `to_src`, both given as source paths."""
    source = page_url(from_src, use_directory_urls)
    target = page_url(to_src, use_directory_urls)
    base = source if source.endswith("/") or not source else posixpath.dirname(source)
    relative = posixpath.relpath(target or ".", base.rstrip("/") or ".")
    if target.endswith("/") and not relative.endswith("/"):
        relative += "/"
    return relative


@dataclass(frozen=True)
class Cell:
    """A table cell: its HTML (already escaped) and the value the sorter compares."""

    html: str
    sort: Optional[float | str] = None


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], sortable: bool = True, **attrs: str) -> str:
    """An HTML table; with `sortable`, clicking a header sorts by it (site/javascripts/sortable.js).

    Numeric sort values go in `data-sort` so the sorter compares numbers, not their formatting.
    Header texts are escaped here; cell HTML must be escaped by the caller.
    """
    extra = "".join(f' {esc(name.replace("_", "-"))}="{esc(value)}"' for name, value in attrs.items())
    head = "".join(f'<th scope="col">{esc(header)}</th>' for header in headers)
    body = []
    for row in rows:
        cells = []
        for cell in row:
            if isinstance(cell.sort, float | int):
                cells.append(f'<td data-sort="{number_attr(cell.sort)}">{cell.html}</td>')
            elif isinstance(cell.sort, str):
                cells.append(f'<td data-sort="{esc(cell.sort)}">{cell.html}</td>')
            else:
                cells.append(f"<td>{cell.html}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    marker = " data-sortable" if sortable else ""
    return (
        # No wrapper: Material wraps class-less tables in its own horizontally scrolling box.
        f"<table{marker}{extra}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody></table>"
    )


def key_values(items: Sequence[tuple[str, Any]]) -> str:
    """A two-column table of settings; values shown as JSON text so types and whitespace stay visible."""
    rows = [[Cell(f"<code>{esc(key)}</code>"), Cell(f"<code>{esc(json_text(value))}</code>")] for key, value in items]
    return table(["setting", "value"], rows, sortable=False, data_compact="1")


def raw_block(*parts: str) -> str:
    """Raw HTML for a Markdown page: one top-level element, blank lines around, so Markdown leaves it alone."""
    return '\n\n<div class="crfm">\n' + "\n".join(parts) + "\n</div>\n\n"
