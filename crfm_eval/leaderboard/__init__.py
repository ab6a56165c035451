"""The leaderboard site: static pages built by `mkdocs build` from the run folders under an output dir.

The pieces, one idea per module:

- `runs`: find and read complete run folders (`<output_dir>/runs/<suite>/<run_name>/`).
- `significance`: the paired test that says whether two entries differ on the same instances.
- `win_rate`: HELM-style win rate across scenarios.
- `tables`: the leaderboard's numbers, grouped by scenario (no HTML).
- `html`: escaping and small HTML helpers every page uses (all untrusted text goes through it).
- `plots`: inline SVG charts.
- `paths`: where each generated page lives.
- `pages`: home, leaderboard, plots and runs pages; `run_pages`: a run's page and its instance pages.
- `mkdocs_hook`: MkDocs' `hooks:` entry that adds the generated pages at build time.
"""
