"""Where each generated page lives in the site, and Markdown-safe text for headings.

Run and suite names come from folder names, so they are reduced to safe path characters here;
the pages still show the real names (escaped).
"""

import re

from crfm_eval.leaderboard.html import esc

HOME = "index.md"
LEADERBOARD = "leaderboard.md"
PLOTS = "plots.md"
RUNS = "runs.md"
ABOUT = "about.md"

INSTANCES_PER_PAGE = 100
"""Request states per instance page: a 3,270-instance run becomes 33 light pages."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


def segment(name: str) -> str:
    """A folder name as a safe URL path segment."""
    cleaned = _UNSAFE.sub("_", name).strip(".") or "_"
    return cleaned


def run_page(suite: str, run_name: str) -> str:
    return f"runs/{segment(suite)}/{segment(run_name)}/index.md"


def instances_page(suite: str, run_name: str, number: int) -> str:
    """The `number`-th (from 1) page of a run's instances."""
    return f"runs/{segment(suite)}/{segment(run_name)}/instances-{number}.md"


def md(text: str) -> str:
    """Text for a Markdown heading or paragraph: HTML-escaped, Markdown punctuation backslash-escaped."""
    # Backslashes first, entities second: escaping after `esc` would break the `#` of `&#x27;`.
    return esc(_MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " ")))
