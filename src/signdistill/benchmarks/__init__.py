"""Benchmarks anyone can rerun: each prints its figures measured side by side in one run."""
