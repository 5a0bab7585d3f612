"""The import-time environment check of `helpers` and the Colab setup cell, with faked Python versions."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import helpers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("version", [(3, 12, 0), (3, 13, 1), (3, 8, 10)])
def test_unsupported_python_names_the_fix(version) -> None:
    message = helpers.environment_problem(version, lambda name: object())
    assert "Python 3.9-3.11" in message and "use Python 3.11: `uv run" in message


def test_missing_tff_names_the_fix() -> None:
    message = helpers.environment_problem((3, 11, 7), lambda name: None)
    assert "tensorflow-federated is not installed" in message and "uv run" in message


def test_supported_environment_passes() -> None:
    assert helpers.environment_problem((3, 11, 7), lambda name: object()) is None
    assert helpers.environment_problem() is None


def test_import_on_python_312_is_one_clear_error() -> None:
    code = "import sys; sys.version_info = (3, 12, 0, 'final', 0); import helpers"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: These tutorials need Python 3.9-3.11")
    assert "pip" not in result.stderr.split("ImportError")[0]


def setup_cell(notebook: Path) -> str:
    cells = nbformat.read(notebook, as_version=4).cells
    tagged = [c.source for c in cells if "colab-setup" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name} needs exactly one colab-setup cell"
    return tagged[0]


def run_cell(source: str, monkeypatch: pytest.MonkeyPatch, version, machine="x86_64", colab=True, installed=False):
    """Execute the setup cell on a faked runtime; return the commands it ran (filled even if it raises)."""
    calls: list[list[str]] = []
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(sys, "version_info", version)
    monkeypatch.setattr(platform, "machine", lambda: machine)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(os.path, "isdir", lambda path: installed)
    monkeypatch.setattr(os, "chdir", lambda path: calls.append(["chdir", path]))
    try:
        exec(compile(source, "setup-cell", "exec"), {})
    except SystemExit as stop:
        return calls, str(stop)
    return calls, None


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_does_nothing_outside_colab(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cell(setup_cell(notebook), monkeypatch, (3, 11, 7), colab=False) == ([], None)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
@pytest.mark.parametrize("version,machine", [((3, 12, 11), "x86_64"), ((3, 13, 5), "x86_64"), ((3, 11, 13), "aarch64")])
def test_setup_cell_stops_before_pip_on_unsupported_runtime(notebook, monkeypatch, version, machine) -> None:
    calls, message = run_cell(setup_cell(notebook), monkeypatch, version, machine=machine)
    assert calls == [], "nothing may be installed on an unsupported runtime"
    assert "Change runtime version" in message and "2025.07 (Python 3.11)" in message
    assert "local runtime" in message
    assert f"Python {version[0]}.{version[1]} on {machine}" in message


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_installs_pinned_files_on_python_311(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, message = run_cell(setup_cell(notebook), monkeypatch, (3, 11, 13))
    assert "Restart the session" in message and "numpy" in message
    git, reqs, project = calls
    assert git[:2] == ["git", "clone"] and git[-2].endswith(".git")
    assert "--no-deps" in reqs and reqs[-2:] == ["-r", "/content/fl-tutorials/requirements.txt"]
    assert "--no-deps" in project and project[-2:] == ["-e", "/content/fl-tutorials"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_after_restart_only_changes_directory(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls, message = run_cell(setup_cell(notebook), monkeypatch, (3, 11, 13), installed=True)
    assert (calls, message) == ([["chdir", "/content/fl-tutorials/notebooks"]], None)


def test_generated_navigation_is_current() -> None:
    result = subprocess.run([sys.executable, "tools/make_nav.py", "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
