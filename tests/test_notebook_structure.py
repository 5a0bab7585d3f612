"""Every notebook follows the collection's house style; nbval checks that they run, this checks how they read."""

from __future__ import annotations

import json
import re
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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_previous_and_next_links_at_top_and_bottom(path: Path) -> None:
    cells, i = _cells(path), NOTEBOOKS.index(path)
    assert "nav-footer" in cells[-1]["metadata"].get("tags", []), "the last cell is the generated navigation footer"
    for text in (_source(cells[1]), _source(cells[-1])):
        assert "[Contents](../README.md#notebooks)" in text
        if i > 0:
            assert f"]({NOTEBOOKS[i - 1].name})" in text, "a link to the previous notebook"
        if i + 1 < len(NOTEBOOKS):
            assert f"]({NOTEBOOKS[i + 1].name})" in text, "a link to the next notebook"


# A number quoted in the text with two or more decimals (0.847, 14.42) must be one the notebook printed, a setting
# in its code, a number printed by another notebook that the same cell names ("notebook 03"), or a citation listed
# in the cell's metadata ("cited": {"0.336": "where it comes from"}). A citation of a JSON file in the repository
# (benchmarks/spread.json) is checked against that file's numbers.
QUOTED = re.compile(r"(?<![\w.])\d+\.\d{2,}(?![\w.])")
FENCED = re.compile(r"```.*?```", re.S)


def _outputs(cell: dict) -> str:
    texts = []
    for output in cell.get("outputs", []):
        texts.append("".join(output.get("text", "")))
        texts += ["".join(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(texts)


def _contains(text: str, number: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", text) is not None


def _json_numbers(path: Path) -> set[str]:
    def walk(value):
        if isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)
        elif isinstance(value, (int, float)):
            yield value
    found = set()
    for value in walk(json.loads(path.read_text())):
        found |= {f"{value:.{d}f}" for d in (2, 3, 4)}
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_numbers_in_the_text_come_from_outputs_code_or_a_citation(path: Path) -> None:
    root = path.parents[1]
    cells = _cells(path)
    printed = "\n".join(_outputs(c) for c in cells)
    code = "\n".join(_source(c) for c in cells if c["cell_type"] == "code")
    others = {int(p.name[:2]): "\n".join(_outputs(c) for c in _cells(p)) for p in NOTEBOOKS if p != path}
    unsupported = []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        text = _source(cell)
        fenced = "\n".join(FENCED.findall(text))
        named = [int(n) for n in re.findall(r"notebooks? 0?(\d)\b", text)]
        cited = cell["metadata"].get("cited", {})
        for number in QUOTED.findall(FENCED.sub("", text)):
            if _contains(printed, number) or _contains(code, number) or _contains(fenced, number):
                continue
            if any(_contains(others.get(n, ""), number) for n in named):
                continue
            source = cited.get(number, "")
            if source.endswith(".json"):
                assert number in _json_numbers(root / source), f"cell {i}: {number} is not in {source}"
                continue
            if source:
                continue
            unsupported.append((i, number))
    assert not unsupported, (
        f"numbers in the text that no output, code or citation supports (cell, number): {unsupported}. Quote what a "
        "cell printed, or cite the source in the cell's metadata: \"cited\": {\"<number>\": \"<source>\"}")


def test_readme_attack_numbers_come_from_notebook_10_or_its_spread() -> None:
    """The README's notebook-10 block quotes only what notebook 10 printed or sets, or attack_spread.json holds."""
    root = NOTEBOOKS[0].parents[1]
    readme = (root / "README.md").read_text()
    block = readme.split("<!-- attacks:start -->", 1)[1].split("<!-- attacks:end -->", 1)[0]
    notebook = next(p for p in NOTEBOOKS if p.name.startswith("10_"))
    printed = "\n".join(_outputs(c) for c in _cells(notebook))
    printed += "\n".join(_source(c) for c in _cells(notebook) if c["cell_type"] == "code")  # its settings
    spread = _json_numbers(root / "benchmarks" / "attack_spread.json")
    unsupported = [n for n in QUOTED.findall(block) if not _contains(printed, n) and n not in spread]
    assert not unsupported, f"README numbers that neither notebook 10 nor attack_spread.json supports: {unsupported}"
