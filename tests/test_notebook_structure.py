"""Every notebook follows the collection's house style; nbval checks that they run, this checks how they read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SKIP_TAGS = ("nbval-ignore-output", "raises-exception", "nbval-skip")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 9, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_header_badge_and_setup_come_first(path: Path) -> None:
    cells = _cells(path)
    lines = [line for line in _source(cells[0]).splitlines() if line.strip()]
    assert lines[0].startswith("# ") and len(lines) > 1, "cell 1: an H1 title, then a one-line purpose"
    assert "nav-badge" in cells[1]["metadata"].get("tags", []) and "colab.research.google.com" in _source(cells[1])
    setup = next(i for i, c in enumerate(cells) if "colab-setup" in c["metadata"].get("tags", []))
    assert 'if "google.colab" in sys.modules:' in _source(cells[setup]), "install only on Colab"
    smoke = _source(cells[setup + 2])
    assert "tff.__version__" in smoke and "tff.federated_computation" in smoke, "version checks and a TFF smoke call"
    assert smoke.index("use_private_runtime()") < smoke.index("tff.federated_computation"), \
        "the setup section installs the private runtime before TFF runs anything (README: Security)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_markdown_before_every_code_cell(path: Path) -> None:
    cells = _cells(path)
    lonely = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and cells[i - 1]["cell_type"] != "markdown"]
    assert not lonely, f"code cells {lonely} have no markdown sentence before them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_ends_with_summary_exercises_and_solutions(path: Path) -> None:
    headings = [line.strip() for c in _cells(path) if c["cell_type"] == "markdown"
                for line in _source(c).splitlines() if line.startswith("## ")]
    tail = [h for h in headings if h in ("## Summary", "## Exercises", "## Solutions")]
    assert tail == ["## Summary", "## Exercises", "## Solutions"], headings
    assert headings[-3:] == tail, "Summary, Exercises and Solutions are the last sections"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_skip_tag_says_why(path: Path) -> None:
    for i, cell in enumerate(_cells(path)):
        tags = [t for t in cell["metadata"].get("tags", []) if t in SKIP_TAGS]
        if tags:
            first = _source(cell).splitlines()[0]
            assert first.startswith("# Tagged ") and ":" in first, f"cell {i} is tagged {tags} without a reason"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_committed_outputs_have_no_errors(path: Path) -> None:
    for i, cell in enumerate(_cells(path)):
        if "raises-exception" in cell["metadata"].get("tags", []):
            continue
        assert not [o for o in cell.get("outputs", []) if o["output_type"] == "error"], f"cell {i} has an error output"
