"""The MkDocs hook (mkdocs.yml `hooks:`) that turns the run folders into pages at build time.

`mkdocs build` and `mkdocs serve` call it, so the site always reflects the runs on disk and no
generated page is ever committed. The runs are read from `$CRFM_EVAL_OUTPUT_DIR` (relative to the
current directory), else from `outputs/` next to mkdocs.yml. Under `mkdocs serve`, a new or
finished run triggers a rebuild. Options (mkdocs.yml):

    extra:
      crfm_eval:
        main_metrics: [exact_match, quasi_exact_match]   # leaderboard columns; the first ranks
"""

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Any

# MkDocs loads this file by path. Import the crfm_eval of the checkout this file belongs to, not
# whichever copy happens to be installed, so the pages come from the code next to mkdocs.yml.
_CHECKOUT = Path(__file__).resolve().parents[2]
if "crfm_eval" not in sys.modules and str(_CHECKOUT) not in sys.path:
    sys.path.insert(0, str(_CHECKOUT))

from mkdocs.config.defaults import MkDocsConfig  # noqa: E402
from mkdocs.structure.files import File, Files, InclusionLevel  # noqa: E402

from crfm_eval.leaderboard import paths  # noqa: E402
from crfm_eval.leaderboard.pages import SiteContext, home_page, leaderboard_page, plots_page, runs_page  # noqa: E402
from crfm_eval.leaderboard.run_pages import instance_pages, run_page  # noqa: E402
from crfm_eval.leaderboard.runs import find_runs  # noqa: E402
from crfm_eval.leaderboard.tables import DEFAULT_MAIN_METRICS, build_leaderboard  # noqa: E402

OUTPUT_DIR_VARIABLE = "CRFM_EVAL_OUTPUT_DIR"
DEFAULT_OUTPUT_DIR = "outputs"

log = logging.getLogger("mkdocs.hooks.crfm_eval")


def output_dir(config: MkDocsConfig) -> Path:
    """The output dir whose runs the site shows."""
    configured = os.environ.get(OUTPUT_DIR_VARIABLE)
    if configured:
        return Path(configured).expanduser().resolve()
    return (Path(config.config_file_path).parent / DEFAULT_OUTPUT_DIR).resolve()


def _main_metrics(config: MkDocsConfig) -> list[str]:
    extra: dict[str, Any] = dict(config.extra or {})
    options: dict[str, Any] = extra.get("crfm_eval") or {}
    metrics = options.get("main_metrics") or list(DEFAULT_MAIN_METRICS)
    return [str(metric) for metric in metrics]


def generate(config: MkDocsConfig) -> dict[str, str]:
    """Source path -> Markdown of every generated page."""
    found = find_runs(output_dir(config))
    leaderboard = build_leaderboard(found.runs, _main_metrics(config))
    context = SiteContext(
        output_dir=str(found.output_dir),
        env_variable=OUTPUT_DIR_VARIABLE,
        use_directory_urls=bool(config.use_directory_urls),
        built_at=dt.datetime.now(dt.timezone.utc),
    )
    pages = {
        paths.HOME: home_page(found, leaderboard, context),
        paths.LEADERBOARD: leaderboard_page(found, leaderboard, context),
        paths.PLOTS: plots_page(found, leaderboard, context),
        paths.RUNS: runs_page(found, context),
    }
    for run in found.runs:
        pages[paths.run_page(run.suite, run.run_name)] = run_page(run, leaderboard.primary, context)
        pages.update(instance_pages(run, leaderboard.primary, context))
    log.info("crfm_eval: %d runs from %s, %d generated pages", len(found.runs), found.output_dir, len(pages))
    if found.incomplete:
        log.info("crfm_eval: left out %d unfinished run folders (no manifest.json)", len(found.incomplete))
    for path, reason in found.unreadable:
        log.warning("crfm_eval: cannot read the run in %s (%s); it is left out", path, reason)
    return pages


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Add the generated pages; a hand-written file of the same name is replaced (generated wins)."""
    for src_uri, content in generate(config).items():
        existing = files.get_file_from_path(src_uri)
        if existing is not None:
            files.remove(existing)
        # Run pages are reached from the Runs page, not the navigation (there can be hundreds).
        inclusion = InclusionLevel.NOT_IN_NAV if src_uri.startswith("runs/") else InclusionLevel.UNDEFINED
        files.append(File.generated(config, src_uri, content=content, inclusion=inclusion))
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    """Under `mkdocs serve`, rebuild when runs appear or change."""
    runs_dir = output_dir(config) / "runs"
    if runs_dir.is_dir():
        server.watch(str(runs_dir))
    return server
