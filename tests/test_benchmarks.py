"""The benchmark module keeps working: a smoke run with tiny settings writes every output (no speed is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.results import Results

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_benchmarks_smoke(tmp_path: Path) -> None:
    summary_before = (ROOT / "CONTRIBUTING.md").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "FL_DATA": "sample"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    results = Results.load(tmp_path / "results.json")
    assert results.suite is None  # --smoke leaves the suite out
    cost = results.round_cost
    # Every loop, TFF's and the plain-TF baseline, does the same work: the same final weights.
    assert cost.max_weight_difference < 1e-5
    assert {loop.kind for loop in cost.loops} == {"tff", "plain TF"} and cost.timing(cost.baseline).median_s > 0
    assert 0 < cost.floor_s < cost.timing(cost.baseline).median_s  # nothing runs faster than its arithmetic
    assert [row.clients_per_round for row in results.scaling.rows] == [2, 4]
    assert results.memory.peak_gib > 0
    (curve,) = results.soak.curves
    assert [p.round for p in curve.points] == [1, 2, 3, 4] and curve.clients == 100
    assert all(p.peak_gib >= p.rss_gib > 0.1 for p in curve.points)
    text = (tmp_path / "RESULTS.md").read_text()
    assert "## 1. The cost of a round" in text and "## 4. Memory over a long run" in text
    assert (tmp_path / "results.png").stat().st_size > 0
    assert (ROOT / "CONTRIBUTING.md").read_text() == summary_before  # only a full run updates the summary


def test_benchmarks_reject_too_few_rounds() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--rounds", "1"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and "at least 2" in result.stderr


def test_results_survive_a_round_trip_and_an_old_file(tmp_path: Path) -> None:
    from benchmarks.results import Machine, Suite

    machine = Machine("cpu", 2, 1.0, "3.11", "2.14", "0.87", "2026-11-26")
    results = Results(suite=Suite(runs=1, minutes=2.0, minutes_all=[2.0], all_passed=True, machine=machine))
    results.save(tmp_path / "results.json")
    assert Results.load(tmp_path / "results.json") == results
    (tmp_path / "old.json").write_text(json.dumps({"overhead": {"ratio": 0.7}, "suite": {"minutes": 1}}))
    with pytest.warns(UserWarning, match="'suite' section is in an older format.*--only suite"):
        assert Results.load(tmp_path / "old.json") == Results()  # sections in an older format are measured again
