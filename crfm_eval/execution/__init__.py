"""Execution: every request gets its result through the Service."""
