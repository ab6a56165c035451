"""The MkDocs plugin `crfm_eval`: the leaderboard site, built from the run folders at `mkdocs build`.

Registered by entry point (pyproject.toml, group `mkdocs.plugins`), so an installed crfm_eval is all
a site needs:

    plugins:
      - search
      - crfm_eval:
          main_metrics: [exact_match, quasi_exact_match]   # leaderboard columns; the first ranks
          significance_correction: holm                    # or none
          # output_dir: outputs        (default; $CRFM_EVAL_OUTPUT_DIR wins over it)
          # cache_dir: outputs/site_cache   (default: <output_dir>/site_cache; "" for none)
          # workers: 0                 (processes reading new runs; 0: one per CPU)
          # search_instances: true     (instances in the search index; see site_index.py)

The plugin brings its own pages (home, leaderboard, one per scenario, plots, runs, about, the
instance viewer), scripts and style sheet, and puts a "Scenarios" section after the Leaderboard in
the navigation when mkdocs.yml lists one. Under `mkdocs serve`, a new or changed run triggers a
rebuild that reads only that run (build_cache.py).
"""

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import BasePlugin, event_priority, get_plugin_logger
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.pages import Page

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.build import OUTPUT_DIR_VARIABLE, SHELL_PAGE, BuildOptions, SiteBuild, prepare
from crfm_eval.leaderboard.significance import CORRECTIONS, HOLM
from crfm_eval.leaderboard.tables import DEFAULT_MAIN_METRICS

log = get_plugin_logger("crfm_eval")

DEFAULT_OUTPUT_DIR = "outputs"
ASSETS = {
    "javascripts/crfm_eval/sortable.js": "sortable.js",
    "javascripts/crfm_eval/instances.js": "instances.js",
    "stylesheets/crfm_eval/leaderboard.css": "leaderboard.css",
}
"""Site path -> file in crfm_eval/leaderboard/assets/."""


class LeaderboardConfig(base.Config):
    output_dir = c.Optional(c.Type(str))
    """The output dir whose runs the site shows (relative to mkdocs.yml); $CRFM_EVAL_OUTPUT_DIR wins."""
    main_metrics = c.ListOfItems(c.Type(str), default=list(DEFAULT_MAIN_METRICS))
    significance_correction = c.Choice(CORRECTIONS, default=HOLM)
    cache_dir = c.Optional(c.Type(str))
    workers = c.Type(int, default=0)
    """Processes that read new or changed runs; 0: one per CPU."""
    search_instances = c.Type(bool, default=True)


class LeaderboardPlugin(BasePlugin[LeaderboardConfig]):
    def __init__(self) -> None:
        self.build: Optional[SiteBuild] = None
        self.shell_html: Optional[str] = None

    def on_startup(self, *, command: Literal["build", "gh-deploy", "serve"], dirty: bool) -> None:
        """Defined so that MkDocs keeps this plugin between the rebuilds of `mkdocs serve`."""

    def _output_dir(self, config: MkDocsConfig) -> Path:
        configured = os.environ.get(OUTPUT_DIR_VARIABLE)
        if configured:
            return Path(configured).expanduser().resolve()
        base_dir = Path(config.config_file_path or ".").parent
        return (base_dir / (self.config.output_dir or DEFAULT_OUTPUT_DIR)).resolve()

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        output_dir = self._output_dir(config)
        cache_dir: Optional[Path] = output_dir / "site_cache"
        if self.config.cache_dir is not None:
            configured = self.config.cache_dir.strip()
            cache_dir = (Path(config.config_file_path or ".").parent / configured).resolve() if configured else None
        options = BuildOptions(
            output_dir=output_dir,
            cache_dir=cache_dir,
            main_metrics=list(self.config.main_metrics),
            correction=self.config.significance_correction,
            workers=self.config.workers if self.config.workers > 0 else (os.cpu_count() or 1),
            search_instances=self.config.search_instances,
            use_directory_urls=bool(config.use_directory_urls),
        )
        self.build = prepare(options)
        self.shell_html = None
        for site_path in ASSETS:
            target = config.extra_css if site_path.endswith(".css") else config.extra_javascript
            if site_path not in [str(item) for item in target]:
                target.append(site_path)
        _add_scenarios_to_nav(config, self.build.scenario_pages())
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        """Add the generated pages and the assets; a file of the same name in docs_dir is replaced."""
        assert self.build is not None
        assets = resources.files("crfm_eval.leaderboard").joinpath("assets")
        generated: dict[str, Any] = {path: assets.joinpath(name).read_bytes() for path, name in ASSETS.items()}
        generated.update({src: page.markdown for src, page in self.build.pages.items()})
        for src_uri, content in generated.items():
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            # Run pages are reached from the leaderboard and the Runs page, not the navigation (there can be hundreds).
            inclusion = InclusionLevel.NOT_IN_NAV if src_uri.startswith("runs/") else InclusionLevel.UNDEFINED
            files.append(File.generated(config, src_uri, content=content, inclusion=inclusion))
        return files

    def on_post_page(self, output: str, *, page: Page, config: MkDocsConfig) -> str:
        """Put each generated page's HTML blocks in place; keep the rendered run shell for on_post_build."""
        assert self.build is not None
        source = self.build.pages.get(page.file.src_uri)
        if source is None:
            return output
        output = source.fill(output)
        if page.file.src_uri == SHELL_PAGE:
            self.shell_html = output
        return output

    @event_priority(-100)  # after the search plugin has written its index, which this extends
    def on_post_build(self, *, config: MkDocsConfig) -> None:
        assert self.build is not None
        self.build.finish(Path(config.site_dir), self.shell_html)

    def on_serve(self, server: Any, *, config: MkDocsConfig, builder: Any) -> Any:
        """Under `mkdocs serve`, rebuild when runs appear or change."""
        runs_dir = self._output_dir(config) / "runs"
        if runs_dir.is_dir():
            server.watch(str(runs_dir))
        return server


def _add_scenarios_to_nav(config: MkDocsConfig, scenario_pages: list[str]) -> None:
    """With a nav in mkdocs.yml that lists the leaderboard, a "Scenarios" section right after it."""
    nav = config.nav
    if not isinstance(nav, list) or not scenario_pages:
        return
    for index, item in enumerate(nav):
        value = next(iter(item.values())) if isinstance(item, dict) and len(item) == 1 else item
        if value == paths.LEADERBOARD:
            already = any(isinstance(entry, dict) and "Scenarios" in entry for entry in nav)
            if not already:
                nav.insert(index + 1, {"Scenarios": list(scenario_pages)})
            return
