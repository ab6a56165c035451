"""Adaptation: instances become prompts and requests."""
