"""The leaderboard site: the MkDocs plugin `crfm_eval` that builds it from the run folders of an output dir.

The pieces, one idea per module:

- `plugin`: the MkDocs plugin (registered by entry point): options, and MkDocs' events.
- `build`: one build, independent of MkDocs: runs in, page sources and files out.
- `build_cache`: each run read once per version; entries reused by later builds and `mkdocs serve`.
- `run_data`: one run folder -> the instance viewer's data files and the run's digest (streaming).
- `runs`: complete runs (from their digests) and the folders that are not complete (their state).
- `identity`: entries and their labels (what tells a run's settings apart from the others').
- `metric_groups`: stats grouped by metric group, from the runs' metric_info.json.
- `significance`: paired tests (McNemar, Wilcoxon), vectorized over all pairs, and Holm's correction.
- `win_rate`: HELM-style win rate across scenarios.
- `tables`: the leaderboard's numbers, one table per scenario (no HTML).
- `html`, `context`, `paths`, `plots`: escaping and HTML helpers, links, where pages live, SVG charts.
- `pages`, `leaderboard_page`, `run_pages`: the generated pages; `site_index`: the viewer's list of
  runs and the entries added to the search index.
- `assets/`: the viewer and sorter scripts, the style sheet and the About page's source.
"""
