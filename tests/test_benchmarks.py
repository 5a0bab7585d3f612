"""The benchmark module keeps working: a smoke run with tiny settings writes every output (no speed is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.results import Results
from helpers.logs import NOISE

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
    noise = [line for line in (result.stdout + result.stderr).splitlines() if NOISE.search(line)]
    assert not noise, f"the benchmark CLI prints library noise: {noise[:2]}"
    results = Results.load(tmp_path / "results.json")
    assert results.suite is None and results.imports is None  # --smoke leaves out the longest timings
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


def test_the_notebook_and_quick_loop_sections_render_their_goals(tmp_path: Path) -> None:
    from benchmarks.report import render_markdown, render_readme_block
    from benchmarks.results import Machine, Notebooks, NotebookTime, Suite

    machine = Machine("cpu", 2, 1.0, "3.11", "2.14", "0.87", "2026-12-07")
    rows = [NotebookTime("01_a.ipynb", 90.0, True, 1.1), NotebookTime("02_b.ipynb", 130.0, True, 0.9)]
    quick = Suite(runs=3, minutes=1.5, minutes_all=[1.4, 1.5, 1.7], all_passed=True, machine=machine)
    results = Results(notebooks=Notebooks(rows=rows, machine=machine), quick=quick)
    results.save(tmp_path / "results.json")
    assert Results.load(tmp_path / "results.json") == results
    text = render_markdown(results)
    assert "**misses**, 02 (130 s)" in text and "all of them at most 1200 s: meets (220 s)" in text
    assert "**1.5 min** (1.4, 1.5, 1.7; all passed), within the goal of ≤ 2 min" in text
    block = render_readme_block(results)
    assert "| slowest notebook, executed alone on the sample | 130 s (02) | ≤ 120 s |" in block


def test_a_suite_record_from_before_clean_clones_still_loads(tmp_path: Path) -> None:
    machine = {"cpu": "c", "cores": 2, "memory_gib": 1.0, "python": "3", "tensorflow": "2", "tff": "0", "date": "d"}
    old = {"suite": {"runs": 3, "minutes": 18.1, "minutes_all": [18.3], "all_passed": True, "machine": machine}}
    (tmp_path / "results.json").write_text(json.dumps(old))
    suite = Results.load(tmp_path / "results.json").suite
    assert suite.minutes == 18.1 and suite.commit == ""  # the working tree, as it was measured then


def test_the_notebook_quick_and_suite_sections_measure_what_they_say(monkeypatch, tmp_path: Path) -> None:
    """The three long sections' plumbing, with the long parts replaced: each notebook alone (benchmarks/sample.json
    gets its record), the quick loop's command, and the suite in a clean clone of HEAD."""
    import benchmarks.__main__ as bench
    from tools import make_nav, run_standin

    records = tmp_path / "sample.json"
    monkeypatch.setattr(run_standin, "SAMPLE_RESULTS", records)
    ran = []

    def fake_run(path: Path) -> dict:
        ran.append((path.name, os.environ["FL_DATA"]))
        return {"notebook": path.name, "seconds": 12.0, "passed": True, "peak_gib": 0.5, "code_sha": "x"}

    monkeypatch.setattr(run_standin, "run", fake_run)
    navigated = []
    monkeypatch.setattr(make_nav, "main", lambda argv: navigated.append(argv) or 0)  # not the real README here
    section = bench.bench_notebooks(["02_federated_data.ipynb", "05_federated_evaluation.ipynb"])
    assert ran == [("02_federated_data.ipynb", "sample"), ("05_federated_evaluation.ipynb", "sample")]
    assert navigated == [[]], "the README's memory column follows the new peaks"
    assert [row.notebook for row in section.rows] == [name for name, _ in ran] and section.total_s == 24.0
    assert set(json.loads(records.read_text())) == {name for name, _ in ran}

    commands = []

    def fake_time(runs: int, command, cwd: Path, label: str):
        commands.append((list(command), cwd))
        return [60.0] * runs, [0] * runs

    monkeypatch.setattr(bench, "_time_pytest", fake_time)
    quick = bench.bench_quick(2)
    assert commands[-1] == ([sys.executable, "-m", "pytest", "-q", "-m", "not slow"], ROOT) and quick.minutes == 1.0
    suite = bench.bench_suite(1)
    command, clone = commands[-1]
    assert command == ["uv", "run", "pytest", "-q"] and clone != ROOT and clone.name == "clone"
    head = subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=ROOT, text=True).strip()
    assert suite.commit == head and suite.runs == 1 and suite.all_passed


def test_the_imports_section_times_tff_with_and_without_the_compiled_modules(monkeypatch, tmp_path: Path) -> None:
    """Section 8's plumbing with the imports replaced: kept modules are read (no PYTHONDONTWRITEBYTECODE), none are in
    the uncached runs (an empty PYTHONPYCACHEPREFIX, kept empty); the test commands keep what they compile."""
    import benchmarks.__main__ as bench
    from benchmarks.report import render_markdown, render_readme_block

    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # as in this machine's shell
    envs = []

    def fake_run(command, env, check, capture_output):
        assert command == [sys.executable, "-c", "import tensorflow_federated"]
        envs.append(env)

    monkeypatch.setattr(bench.subprocess, "run", fake_run)
    section = bench.bench_imports(2)
    warm_up, *timed = envs
    assert "PYTHONDONTWRITEBYTECODE" not in warm_up and len(timed) == 4
    cached, uncached = timed[0::2], timed[1::2]
    assert all("PYTHONDONTWRITEBYTECODE" not in env and "PYTHONPYCACHEPREFIX" not in env for env in cached)
    assert all(env["PYTHONDONTWRITEBYTECODE"] == "1" and env["PYTHONPYCACHEPREFIX"] for env in uncached)
    assert section.runs == 2 and len(section.cached_s) == len(section.uncached_s) == 2
    results = Results(imports=section)
    results.save(tmp_path / "results.json")
    assert Results.load(tmp_path / "results.json") == results
    assert "## 8. Importing TFF" in render_markdown(results)
    assert "`import tensorflow_federated` in a new process" in render_readme_block(results)

    calls = []
    monkeypatch.setattr(bench.subprocess, "call", lambda command, cwd, env, stdout: calls.append(env) or 0)
    bench._time_pytest(1, ["pytest"], tmp_path, "test")
    assert "PYTHONDONTWRITEBYTECODE" not in calls[0] and calls[0]["FL_DATA"] == "sample"
