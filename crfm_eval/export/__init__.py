"""Exporters: a finished run folder rewritten in another tool's layout, so that its viewers and
scripts load our runs. `crfm_eval export --format helm|lm-eval RUN_DIR OUT_DIR` (see cli.py).

- `helm`: HELM's run folder (run_spec.json, scenario.json, scenario_state.json,
  per_instance_stats.json, stats.json), with HELM's field names and HELM's way of aggregating.
- `lm-eval`: lm-evaluation-harness 0.4's output (`<model>/results_<date>.json` and
  `<model>/samples_<task>_<date>.jsonl`), as `lm_eval --output_path OUT_DIR --log_samples` writes it.

Exporters read run folders only through crfm_eval/runner/readers.py.
"""

EXPORTERS: dict[str, str] = {
    "helm": "crfm_eval.export.helm.export_helm",
    "lm-eval": "crfm_eval.export.lm_eval.export_lm_eval",
}
"""Format name -> import path of its function `(run_dir, out_dir, **options) -> list of written files`."""
