"""Benchmarks of the collection; run them with `uv run python -m benchmarks`."""
