"""Indexes the built site needs besides its pages: the viewer's list of runs (data/runs.js) and the
entries added to the search index (runs and instances).

What goes in the search index, and why: MkDocs' search (lunr, run in the reader's browser) loads
the whole index, so it cannot hold every request of every run (327,000 for 100 BoolQ runs, with
3 KB prompts: gigabytes). It holds one entry per run (its name, entry label, scenario, model), and
one per *distinct instance of a scenario* (its id and the start and end of its input, ~240
characters), linking to that instance in the scenario's best run; the viewer then offers the same
instance in every other run. 100 runs of the same 3,270 BoolQ instances add 3,370 entries, about
1 MB, whatever the number of runs.
"""

import html
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from crfm_eval.leaderboard import paths, run_data
from crfm_eval.leaderboard.html import page_url
from crfm_eval.leaderboard.tables import Leaderboard

log = logging.getLogger("mkdocs.plugins.crfm_eval")


def runs_index(leaderboard: Leaderboard, use_directory_urls: bool) -> bytes:
    """data/runs.js: every run the viewer can show, where its files are, and how to judge its instances."""
    runs = []
    for group in leaderboard.groups:
        for row in group.rows:
            run = row.run
            runs.append(
                {
                    "key": run.key,
                    "label": row.label,
                    "scenario": group.scenario,
                    "split": group.split,
                    "primary": group.primary,
                    "data": paths.run_data_dir(run.suite, run.run_name),
                    "page": page_url(paths.run_page(run.suite, run.run_name), use_directory_urls),
                    "instances": paths.instance_table(run.digest["instances"]),
                    "hash": run.digest["instances"],
                    "states": run.digest.get("num_states"),
                }
            )
    return run_data.js_message({"kind": "runs", "data": {"runs": runs}})


def _entry(location: str, title: str, text: str) -> dict[str, str]:
    """A search entry. The search plugin's index holds HTML (its own entries are escaped page text,
    and its results are shown as HTML), so run names and instance texts are escaped here."""
    return {"location": location, "title": html.escape(title, quote=False), "text": html.escape(text, quote=False)}


def search_entries(
    leaderboard: Leaderboard, instances_dir: Path, use_directory_urls: bool, with_instances: bool
) -> list[dict[str, Any]]:
    """Search entries for every run and, with `with_instances`, every distinct instance of each scenario."""
    viewer = page_url(paths.INSTANCES, use_directory_urls)
    entries = []
    for group in leaderboard.groups:
        for row in group.rows:
            run = row.run
            entries.append(
                _entry(
                    page_url(paths.run_page(run.suite, run.run_name), use_directory_urls),
                    f"Run {run.run_name}",
                    f"{row.label} · scenario {run.scenario} · model {run.model} · adaptation {run.adaptation} "
                    f"· suite {run.suite}",
                )
            )
    if not with_instances:
        return entries
    for group in leaderboard.groups:
        seen: set[str] = set()
        tables: set[str] = set()
        for row in group.rows:  # best first: an instance links to the best run that has it
            table_hash = row.run.digest["instances"]
            if table_hash in tables:
                continue
            tables.add(table_hash)
            for instance_id, snippet in run_data.search_snippets(instances_dir, table_hash):
                if instance_id in seen:
                    continue
                seen.add(instance_id)
                location = f"{viewer}?{urlencode({'run': row.run.key, 'id': instance_id})}"
                entries.append(_entry(location, f"{group.scenario} instance {instance_id}", snippet))
    return entries


def extend_search_index(site_dir: Path, entries: list[dict[str, Any]]) -> None:
    """Add `entries` to the search index the search plugin wrote (none when the site has no search)."""
    path = site_dir / "search" / "search_index.json"
    if not path.exists():
        log.info("crfm_eval: no search index in the site (add the search plugin); runs and instances not indexed")
        return
    index = json.loads(path.read_text(encoding="utf-8"))
    index.setdefault("docs", []).extend(entries)
    path.write_bytes(run_data.json_bytes(index))
