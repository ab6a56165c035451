"""The Runner: one RunSpec from data to statistics on disk."""
