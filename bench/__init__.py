"""Benchmarks: ``python -m bench``.  Each compares against a baseline measured in the same run."""
