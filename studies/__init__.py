"""The studies behind the notebooks' claims: runs repeated over seeds or executions, whose JSON the notebooks cite."""

from __future__ import annotations

import json
from pathlib import Path


def write_results(path: Path, results: dict) -> None:
    """Write a study's `results` as JSON to `path`, then print their "summary" and "failed_checks"."""
    path.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["summary"], indent=1))
    print(f"failed checks: {results['failed_checks'] or 'none'}")
