"""Where each page and data file lives in the site, and Markdown-safe text for headings.

Paths are given as MkDocs source paths (`leaderboard.md`, `runs/<suite>/<run>/index.md`), also for
the pages this package writes itself, so that every link is computed one way (`html.link`).
Run and suite names come from folder names; a name that is not already a safe path segment is
reduced to safe characters plus a short hash of the real name, so two names never share a folder.
"""

import hashlib
import re

from crfm_eval.leaderboard.html import esc

HOME = "index.md"
LEADERBOARD = "leaderboard.md"
PLOTS = "plots.md"
RUNS = "runs.md"
ABOUT = "about.md"
INSTANCES = "instances.md"
"""The instance viewer: one page that shows any run's instances from its data files."""

DATA_DIR = "data"
RUNS_INDEX = "data/runs.js"
"""Every run the viewer can show, with where its data files are."""

SHELL_SUITE = "crfm-eval-shell-suite"
SHELL_RUN = "crfm-eval-shell-run"
"""The placeholder run whose page MkDocs renders once; every run page is that page with its own body."""

_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+~-]+")
"""Outside the characters run folder names are made of (runner/identity.py's path_safe), all of which
may stand in a URL path as they are."""
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|])")


def segment(name: str) -> str:
    """A folder name as a safe URL path segment, distinct for distinct names."""
    cleaned = _UNSAFE.sub("_", name).strip(".")
    if cleaned == name and name:
        return name
    return f"{cleaned or '_'}-{hashlib.sha1(name.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def run_folder(suite: str, run_name: str) -> str:
    return f"runs/{segment(suite)}/{segment(run_name)}"


def run_page(suite: str, run_name: str) -> str:
    return f"{run_folder(suite, run_name)}/index.md"


def run_data_dir(suite: str, run_name: str) -> str:
    """The folder of a run's viewer data (list.js and its shards), relative to the site root."""
    return f"{run_folder(suite, run_name)}/{DATA_DIR}"


def instance_table(table_hash: str) -> str:
    """A table of instance texts, shared by every run asked exactly these instances."""
    return f"{DATA_DIR}/instances/{table_hash}.js"


def scenario_page(scenario: str) -> str:
    return f"scenarios/{segment(scenario)}.md"


def md(text: str) -> str:
    """Text for a Markdown heading or paragraph: HTML-escaped, Markdown punctuation backslash-escaped."""
    # Backslashes first, entities second: escaping after `esc` would break the `#` of `&#x27;`.
    return esc(_MARKDOWN_SPECIAL.sub(r"\\\1", text.replace("\n", " ")))
