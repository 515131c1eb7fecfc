"""Benchmarks: `python -m bench [name ...]` (or `make bench`).

Each `bench/<name>.py` with a `main()` measures one thing, prints one JSON line
and appends a dated row to docs/benchmarks.md through `bench.common.record`.
"""
