"""The repository's tools. Each runs as a script (`uv run python tools/NAME.py`); tests and benchmarks import what
they share from `tools.repo`."""
