"""The benchmark module keeps working: a smoke run with tiny settings writes every output (no speed is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmarks_smoke(tmp_path: Path) -> None:
    readme_before = (ROOT / "README.md").read_text()
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)], cwd=ROOT,
                            env={**os.environ, "FL_DATA": "sample"}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"overhead", "scaling", "memory"} <= set(results)
    assert results["overhead"]["max_weight_difference"] < 1e-5  # the hand-written loop does TFF's work
    assert [row["clients_per_round"] for row in results["scaling"]["rows"]] == [2, 4]
    assert results["memory"]["peak_gib"] > 0
    text = (tmp_path / "RESULTS.md").read_text()
    assert "## 1. Framework overhead" in text and "## 3. Peak memory" in text
    assert (tmp_path / "results.png").stat().st_size > 0
    assert (ROOT / "README.md").read_text() == readme_before  # only a full run updates the README


def test_benchmarks_reject_too_few_rounds() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--rounds", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "at least 2" in result.stderr


def test_spread_needs_two_executions() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks.spread", "--executions", "1"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "at least 2" in result.stderr


def test_spread_and_drift_results_hold_what_the_notebooks_quote() -> None:
    spread = json.loads((ROOT / "benchmarks" / "spread.json").read_text())
    assert spread["executions"] == len(spread["dp"]["1.0"]) == len(spread["quantized"]["2"]) >= 8
    assert max(spread["dp"]["1.0"]) < min(spread["dp"]["0.0"]) - 0.10, "notebook 07's margin held in every execution"
    drift = json.loads((ROOT / "benchmarks" / "drift_search.json").read_text())
    assert sorted(drift) == ["0", "1", "2"] and all(set(row) == {"5", "20"} for row in drift.values())
