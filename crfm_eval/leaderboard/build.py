"""One build of the site, independent of MkDocs' objects: runs in, page sources and files out.

`prepare` reads the output dir (through the build cache: only new or changed runs are read in
full), builds the leaderboard and the source of every generated page. `finish`, once MkDocs has
rendered the pages, writes each run's page from the rendered shell, puts the runs' data files in
the site, and adds runs and instances to the search index.

Cost: each run is read once per version (build_cache.py), in `workers` processes; everything else
is linear in the number of runs except the pairwise significance tests, which are quadratic in the
entries of a scenario but vectorized (a fraction of a second for 100 entries).
"""

import datetime as dt
import gzip
import logging
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.build_cache import ENTRY, BuildCache, link_file, link_tree
from crfm_eval.leaderboard.context import SiteContext
from crfm_eval.leaderboard.html import PageSource, page_file
from crfm_eval.leaderboard.leaderboard_page import leaderboard_page, scenario_page
from crfm_eval.leaderboard.pages import about_page, home_page, instances_page, plots_page, runs_page
from crfm_eval.leaderboard.run_pages import run_page_html, shell_markdown
from crfm_eval.leaderboard.runs import Run, RunsFound, run_folders
from crfm_eval.leaderboard.site_index import extend_search_index, runs_index, search_entries
from crfm_eval.leaderboard.tables import Leaderboard, build_leaderboard

log = logging.getLogger("mkdocs.plugins.crfm_eval")

OUTPUT_DIR_VARIABLE = "CRFM_EVAL_OUTPUT_DIR"
SHELL_PAGE = f"runs/{paths.SHELL_SUITE}/{paths.SHELL_RUN}/index.md"


@dataclass(frozen=True)
class BuildOptions:
    output_dir: Path
    cache_dir: Optional[Path]
    """None: no cache kept between builds (runs are read into a temporary folder)."""
    main_metrics: list[str]
    correction: str
    workers: int
    search_instances: bool
    use_directory_urls: bool


@dataclass
class SiteBuild:
    options: BuildOptions
    found: RunsFound
    leaderboard: Leaderboard
    context: SiteContext
    cache: BuildCache
    pages: dict[str, PageSource] = field(default_factory=dict)
    """Source path -> page, for every generated page (the run shell included)."""
    _temporary: Optional[tempfile.TemporaryDirectory] = None

    def scenario_pages(self) -> list[str]:
        return [paths.scenario_page(group.scenario) for group in self.leaderboard.groups]

    def finish(self, site_dir: Path, shell_html: Optional[str]) -> None:
        """Write run pages and data files into the built site, extend the search index, tidy up."""
        try:
            for group in self.leaderboard.groups:
                for row in group.rows:
                    self._write_run(site_dir, row.run, row.label, shell_html)
            (site_dir / paths.DATA_DIR).mkdir(parents=True, exist_ok=True)
            (site_dir / paths.RUNS_INDEX).write_bytes(runs_index(self.leaderboard, self.options.use_directory_urls))
            shutil.rmtree(site_dir / "runs" / paths.SHELL_SUITE, ignore_errors=True)
            sitemap_with_runs(site_dir, self.found.runs)
            entries = search_entries(
                self.leaderboard,
                self.cache.instances_dir,
                self.options.use_directory_urls,
                self.options.search_instances,
            )
            extend_search_index(site_dir, entries)
            used_tables = {str(run.digest["instances"]) for run in self.found.runs}
            self.cache.prune([run.path for run in self.found.runs], used_tables)
        finally:
            if self._temporary is not None:
                self._temporary.cleanup()

    def _write_run(self, site_dir: Path, run: Run, label: str, shell_html: Optional[str]) -> None:
        folder = site_dir / paths.run_folder(run.suite, run.run_name)
        # The entry read at the start of the build, even if the run has changed since (the next build reads it).
        link_tree(Path(run.digest[ENTRY]) / "data", folder / paths.DATA_DIR)
        table = paths.instance_table(run.digest["instances"])
        if not (site_dir / table).exists():
            link_file(self.cache.instances_dir / Path(table).name, site_dir / table)
        if shell_html is not None:
            page = site_dir / page_file(paths.run_page(run.suite, run.run_name), self.options.use_directory_urls)
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(run_page_html(shell_html, run, label, self.leaderboard, self.context), encoding="utf-8")


def sitemap_with_runs(site_dir: Path, runs: list[Run]) -> None:
    """MkDocs lists the run shell in sitemap.xml (when site_url is set): list every run page in its place."""
    sitemap = site_dir / "sitemap.xml"
    if not sitemap.exists():
        return
    text = sitemap.read_text(encoding="utf-8")
    shell = re.search(
        r"\s*<url>(?:(?!</url>).)*" + re.escape(paths.SHELL_SUITE) + r"(?:(?!</url>).)*</url>", text, re.S
    )
    if shell is None:
        return
    entries = "".join(
        shell.group(0)
        .replace(paths.SHELL_SUITE, paths.segment(run.suite))
        .replace(paths.SHELL_RUN, paths.segment(run.run_name))
        for run in runs
    )
    text = text[: shell.start()] + entries + text[shell.end() :]
    sitemap.write_text(text, encoding="utf-8")
    with gzip.GzipFile(site_dir / "sitemap.xml.gz", "wb", mtime=0) as packed:
        packed.write(text.encode("utf-8"))


def prepare(options: BuildOptions) -> SiteBuild:
    """Read the runs (new or changed ones in full), build the leaderboard and every page's source."""
    temporary = None
    cache_root = options.cache_dir
    if cache_root is not None:
        try:
            cache_root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            log.info("crfm_eval: cannot use the cache folder %s (%s); reading every run", cache_root, error)
            cache_root = None
    if cache_root is None:
        temporary = tempfile.TemporaryDirectory(prefix="crfm_eval_site_")
        cache_root = Path(temporary.name)
    cache = BuildCache(cache_root)
    complete, unfinished = run_folders(options.output_dir)
    digests, errors = cache.build(complete, options.workers)
    runs = [Run(digests[path]) for path in complete if path in digests]
    found = RunsFound(options.output_dir, runs, unfinished, sorted(errors.items()))
    for path, reason in found.unreadable:
        log.warning("crfm_eval: cannot read the run in %s (%s); it is left out", path, reason)
    leaderboard = build_leaderboard(runs, options.main_metrics, options.correction)
    context = SiteContext(
        output_dir=str(options.output_dir),
        env_variable=OUTPUT_DIR_VARIABLE,
        use_directory_urls=options.use_directory_urls,
        built_at=dt.datetime.now(dt.timezone.utc),
        correction=options.correction,
    )
    build = SiteBuild(options, found, leaderboard, context, cache, _temporary=temporary)
    build.pages = {
        paths.HOME: home_page(found, leaderboard, context),
        paths.LEADERBOARD: leaderboard_page(found, leaderboard, context),
        paths.PLOTS: plots_page(found, leaderboard, context),
        paths.RUNS: runs_page(found, leaderboard, context),
        paths.ABOUT: about_page(leaderboard, context),
        paths.INSTANCES: instances_page(context),
    }
    for group in leaderboard.groups:
        build.pages[paths.scenario_page(group.scenario)] = scenario_page(group, leaderboard, context)
    if runs:
        shell = PageSource()
        shell.text(shell_markdown())
        build.pages[SHELL_PAGE] = shell
    log.info(
        "crfm_eval: %d runs from %s (%d not complete), %d scenarios",
        len(runs),
        options.output_dir,
        len(unfinished),
        len(leaderboard.groups),
    )
    return build
