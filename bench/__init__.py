"""Benchmarks: `make bench` runs every bench_*.py module (see __main__.py)."""
