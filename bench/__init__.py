"""Benchmarks: each `python -m bench.<name>` prints JSON as its last line."""
