"""Scenarios: data sets turned into Instances."""
