"""The import-time environment check of `helpers` and the Colab setup cell, with faked Python versions."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

import helpers
from tools.repo import notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = notebooks()


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


def run_cell(source: str, monkeypatch: pytest.MonkeyPatch, colab: bool = True, checked_out: bool = False):
    """Execute the setup cell with faked Colab detection, git and provision(); return what it did."""
    calls: list = []
    folder = Path(
        tempfile.mkdtemp(prefix="colab-content-")
    )  # Colab's /content, with the (faked) clone's pyproject.toml
    (folder / "fl-tutorials").mkdir()
    shutil.copy(ROOT / "pyproject.toml", folder / "fl-tutorials" / "pyproject.toml")
    monkeypatch.chdir(folder)
    if colab:
        monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    fake = type(sys)("colab_bridge.provision")
    fake.provision = lambda: calls.append(["provision"])
    monkeypatch.setitem(sys.modules, "colab_bridge.provision", fake)
    monkeypatch.setattr(subprocess, "run", lambda cmd, **kw: calls.append(cmd))
    monkeypatch.setattr(os.path, "isdir", lambda path: checked_out)
    monkeypatch.setattr(sys, "path", list(sys.path))
    exec(compile(source, "setup-cell", "exec"), {})
    return calls


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_does_nothing_outside_colab(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run_cell(setup_cell(notebook), monkeypatch, colab=False) == []


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_setup_cell_on_colab_clones_once_and_hands_over(notebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = setup_cell(notebook)
    assert len(source.splitlines()) <= 14, "the first code a learner reads must stay short"
    assert "pip" not in source, "nothing is installed into Colab's own Python"
    git, handover = run_cell(source, monkeypatch)
    assert git[:2] == ["git", "clone"] and git[-2].endswith(".git") and git[-1] == "fl-tutorials"
    assert handover == ["provision"]
    assert run_cell(source, monkeypatch, checked_out=True) == [["provision"]], "a second run does not clone again"


@pytest.mark.parametrize("machine", ["aarch64", "arm64"])
def test_provision_refuses_machines_without_tff_wheels(machine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from colab_bridge import provision

    monkeypatch.setattr(platform, "machine", lambda: machine)
    monkeypatch.setattr(provision, "find_uv", lambda *a: pytest.fail("nothing may be installed"))
    with pytest.raises(RuntimeError, match="only for Linux x86_64.*local runtime"):
        provision.provision()


def test_generated_navigation_is_current() -> None:
    result = subprocess.run([sys.executable, "tools/make_nav.py", "--check"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_navigation_check_writes_nothing(tmp_path: Path) -> None:
    """`make_nav.py --check` compares in memory: every file keeps its bytes and its modification time, stale or not."""
    copy = tmp_path / "repo"
    for name in ("notebooks", "tools", "benchmarks"):  # the table reads benchmarks/sample.json
        shutil.copytree(ROOT / name, copy / name)
    shutil.copy(ROOT / "README.md", copy / "README.md")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    first = sorted((copy / "notebooks").glob("*.ipynb"))[0]
    first.write_text(first.read_text().replace("[Contents](../README.md#notebooks)", "[Contents](stale.md)"))  # stale
    files = [*sorted((copy / "notebooks").glob("*.ipynb")), copy / "README.md"]
    before = {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files}
    result = subprocess.run([sys.executable, "tools/make_nav.py", "--check"], capture_output=True, text=True, cwd=copy)
    assert result.returncode == 1 and first.name in result.stdout, result.stdout + result.stderr
    assert {f: (f.read_bytes(), f.stat().st_mtime_ns) for f in files} == before, "--check must not write"


def test_the_results_page_is_current() -> None:
    """docs/RESULTS.md is generated from the notebooks and benchmarks/*.json; a stale page fails here."""
    result = subprocess.run(
        [sys.executable, "tools/make_results.py", "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_colab_setup_cell_refuses_a_folder_of_another_release_before_importing_from_it(tmp_path: Path) -> None:
    """The setup cell clones its own release tag, and an existing fl-tutorials/ must be that release."""
    cell = next(
        c
        for c in nbformat.read(ROOT / "notebooks" / "01_federated_averaging_quickstart.ipynb", as_version=4).cells
        if "colab-setup" in c.metadata.get("tags", [])
    )
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert '"--branch", release' in cell.source and f'release = "v{version}"' in cell.source
    folder = tmp_path / "fl-tutorials"
    (folder / "colab_bridge").mkdir(parents=True)
    (folder / "pyproject.toml").write_text('[project]\nname = "fl-tutorials"\nversion = "0.0.1"\n')
    (folder / "colab_bridge" / "__init__.py").write_text("raise SystemExit('imported from an unchecked folder')\n")
    (folder / "colab_bridge" / "provision.py").write_text("")
    script = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n" + cell.source
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 1 and f"is not release v{version}" in result.stderr, result.stderr[-1500:]
    assert "imported from an unchecked folder" not in result.stderr


def test_a_stand_in_run_records_the_code_it_ran_and_results_mark_a_later_edit(tmp_path: Path) -> None:
    """tools/run_standin.py hashes a notebook's code cells, not its prose, so docs/RESULTS.md can say "earlier code"."""
    import importlib.util

    import nbformat

    spec = importlib.util.spec_from_file_location("run_standin", ROOT / "tools" / "run_standin.py")
    run_standin = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_standin)
    path = tmp_path / "00_x.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, path)
    before = run_standin.code_sha(path)
    nb.cells[0].source = "# a new title and more prose"
    nbformat.write(nb, path)
    assert run_standin.code_sha(path) == before, "prose edits keep the record"
    nb.cells[1].source = "x = 2"
    nbformat.write(nb, path)
    assert run_standin.code_sha(path) != before, "a code edit shows"
    nb.cells[1].source = "x = 2\nassert x > 1\ny = x\nassert y == 2\nprint(y)"
    nbformat.write(nb, path)
    before = run_standin.code_sha(path)
    from tools import fold_cells

    fold_cells.fold(nb)
    assert [c.metadata.get("tags") for c in nb.cells[1:]] == [None, ["check"]], "the checks moved to a check cell"
    nbformat.write(nb, path)
    assert run_standin.code_sha(path) == before, "folding checks into their own cell keeps the record"
    nb.cells[2].source += "\nassert y < 3"
    nbformat.write(nb, path)
    assert run_standin.code_sha(path) != before, "a new check shows"
    before = run_standin.code_sha(path)
    nb.cells[1].source = "x = 2\ny = x\nprint(y)\nlimit = 3"  # a check's threshold, still in the lesson cell
    nbformat.write(nb, path)
    assert run_standin.code_sha(path) != before, "a new statement shows"
    before = run_standin.code_sha(path)
    nb.cells[1].source = "x = 2\ny = x\nprint(y)"
    nb.cells[2].source = nb.cells[2].source.replace(fold_cells.CHECK_HEADER, fold_cells.CHECK_HEADER + "\nlimit = 3")
    nbformat.write(nb, path)
    assert run_standin.code_sha(path) == before, "a threshold moved into the check cell it serves keeps the record"
