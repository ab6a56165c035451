"""What every generated page needs besides the runs: where they came from, how URLs are built, the
plugin's settings, and the links every number uses (to the instances behind it)."""

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional

from crfm_eval.leaderboard import paths
from crfm_eval.leaderboard.cost_and_trials import spread_html
from crfm_eval.leaderboard.html import Cell, esc, fmt, link, mean_ci, number_attr, query_href
from crfm_eval.leaderboard.runs import AGGREGATE_PARTS


@dataclass(frozen=True)
class SiteContext:
    output_dir: str
    env_variable: str
    use_directory_urls: bool
    built_at: dt.datetime
    correction: str
    """Multiple-comparison correction of the significance column (`holm` or `none`)."""

    def url(self, from_src: str, to_src: str) -> str:
        """A relative URL from page `from_src` to page `to_src` (source paths), not escaped."""
        return link(from_src, to_src, self.use_directory_urls)

    def href(self, from_src: str, to_src: str) -> str:
        return esc(self.url(from_src, to_src))

    def viewer(
        self,
        from_src: str,
        run_key: str,
        metric: Optional[str] = None,
        split: Optional[str] = None,
        wrong: bool = False,
        part: Optional[str] = None,
    ) -> str:
        """An href to the instance viewer showing a run's instances (judged by `metric`, on `split`, or
        on one `part` of it)."""
        return query_href(
            self.url(from_src, paths.INSTANCES),
            run=run_key,
            metric=metric,
            split=split,
            part=part,
            wrong="1" if wrong else None,
        )

    def stat_cell(self, from_src: str, run_key: str, metric: str, stat: Optional[dict[str, Any]]) -> Cell:
        """A table cell with `mean [low, high]` linking to the instances behind it; exact numbers in attributes."""
        if stat is None:
            return Cell("—")
        attributes = " ".join(
            f'data-{name.replace("_", "-")}="{number_attr(stat.get(name))}"'
            for name in ("mean", "ci_low", "ci_high", "count")
        )
        shown = ("name", "split", "mean", "ci_low", "ci_high", "trials")  # trials: beside the number
        extra = {key: value for key, value in stat.items() if key not in shown}
        title = esc(
            ", ".join(f"{key} {fmt(value, 4) if isinstance(value, float) else value}" for key, value in extra.items())
        )
        part = stat.get("sub_split")
        if part in AGGREGATE_PARTS:  # a macro average or consistency is over the whole split's instances
            part = None
        href = self.viewer(from_src, run_key, metric, stat.get("split"), part=part)
        return Cell(
            f'<a class="crfm-stat" href="{href}" title="{title}" data-metric="{esc(metric)}" {attributes}>'
            f"{esc(mean_ci(stat))}</a>{spread_html(stat)}",
            stat.get("mean"),
        )
