"""Metrics: results become per-instance values and aggregated Stats."""
