"""Small HTML helpers for the generated pages. Every piece of data goes through `esc`.

Run and model names, settings and stat names are untrusted text (model output and data set text
only ever reach the browser as data, through the instance viewer, which inserts it as text).
`esc` turns `<`, `>`, `&` and both quotes into entities, which the browser shows as text.

A generated page is Markdown for its headings and prose (so MkDocs builds the table of contents
and the search index from them) plus *blocks* of HTML: the Markdown holds only a placeholder
comment per block, and the plugin puts the block in the rendered page (`PageSource`). Markdown
never parses the tables, which is where its time went (the issue measured 87% of the build).
"""

import html
import json
import posixpath
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence
from urllib.parse import urlencode


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


def page_file(src_uri: str, use_directory_urls: bool) -> str:
    """The file MkDocs writes for the page `src_uri`, relative to the site folder."""
    url = page_url(src_uri, use_directory_urls)
    return url + "index.html" if url == "" or url.endswith("/") else url


def link(from_src: str, to_src: str, use_directory_urls: bool) -> str:
    """A relative href from page `from_src` to page `to_src`, both given as source paths."""
    source = page_url(from_src, use_directory_urls)
    target = page_url(to_src, use_directory_urls)
    base = source if source.endswith("/") or not source else posixpath.dirname(source)
    relative = posixpath.relpath(target or ".", base.rstrip("/") or ".")
    if target.endswith("/") and not relative.endswith("/"):
        relative += "/"
    return relative


def root_of(src_uri: str, use_directory_urls: bool) -> str:
    """The relative URL prefix from page `src_uri` to the site's root (`""`, `../`, `../../`...)."""
    url = page_url(src_uri, use_directory_urls)
    base = url if url.endswith("/") else posixpath.dirname(url)
    depth = len([part for part in base.split("/") if part])
    return "../" * depth


@dataclass(frozen=True)
class Cell:
    """A table cell: its HTML (already escaped) and the value the sorter compares."""

    html: str
    sort: Optional[float | str] = None


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    sortable: bool = True,
    titles: Optional[Sequence[str]] = None,
    **attrs: str,
) -> str:
    """An HTML table; with `sortable`, clicking a header sorts by it (assets/sortable.js).

    Numeric sort values go in `data-sort` so the sorter compares numbers, not their formatting.
    Header texts (and their `titles`, shown on hover) are escaped here; cell HTML must be escaped
    by the caller.
    """
    extra = "".join(f' {esc(name.replace("_", "-"))}="{esc(value)}"' for name, value in attrs.items())
    tips = list(titles or [])
    head_cells = []
    for index, header in enumerate(headers):
        tip = tips[index] if index < len(tips) else ""
        title = f' title="{esc(tip)}"' if tip else ""
        head_cells.append(f'<th scope="col"{title}>{esc(header)}</th>')
    head = "".join(head_cells)
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


@dataclass
class PageSource:
    """A generated page: Markdown with placeholders, and the HTML blocks that replace them once rendered."""

    parts: list[str] = field(default_factory=list)
    blocks: dict[str, str] = field(default_factory=dict)

    def text(self, markdown: str) -> None:
        self.parts.append(markdown)

    def block(self, *html_parts: str) -> None:
        """HTML placed here in the rendered page (between the Markdown before and after it)."""
        marker = f"<!--crfm-block-{len(self.blocks)}-->"
        self.blocks[marker] = '<div class="crfm">' + "\n".join(html_parts) + "</div>"
        self.parts.append(f"\n\n{marker}\n\n")

    @property
    def markdown(self) -> str:
        return "\n".join(self.parts)

    def fill(self, rendered: str) -> str:
        """The rendered page with every block in place of its placeholder."""
        for marker, content in self.blocks.items():
            rendered = rendered.replace(marker, content, 1)
        return rendered


def query_href(base: str, **query: Any) -> str:
    """`base?key=value&...` for the given non-empty values (URL-encoded), escaped for an attribute."""
    items = {key: value for key, value in query.items() if value not in (None, "", False)}
    return esc(base + ("?" + urlencode(items) if items else ""))
