"""Re-execute notebooks top to bottom in a fresh kernel and save their outputs in place.

    uv run python tools/execute_notebooks.py               # every notebook
    uv run python tools/execute_notebooks.py notebooks/01_federated_averaging_quickstart.ipynb

Runs on the offline sample (FL_DATA=sample), so the committed outputs match CI's data,
and prints each notebook's wall time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: its siblings are importable
from repo import notebook_client, notebooks  # noqa: E402


def execute(path: Path, timeout: int = 900) -> float:
    """Execute one notebook in place from a fresh kernel and return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    notebook_client(nb, path, timeout=timeout).execute()
    seconds = time.perf_counter() - start
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or notebooks()
    os.environ["FL_DATA"] = "sample"
    for path in paths:
        print(f"{path.name}: {execute(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
