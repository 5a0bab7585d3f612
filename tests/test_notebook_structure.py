"""Every notebook follows the collection's house style; nbval checks that they run, this checks how they read."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import nbformat
import pytest

from tools import fold_cells, number_check, prose_paths
from tools.repo import notebooks

NOTEBOOKS = notebooks()
SKIP_TAGS = ("nbval-ignore-output", "raises-exception", "nbval-skip")


_cells, _source = (
    number_check.cells,
    number_check.source,
)  # one reader of notebooks for the structure and numbers checks


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 9, [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_header_badge_and_setup_come_first(path: Path) -> None:
    cells = _cells(path)
    lines = [line for line in _source(cells[0]).splitlines() if line.strip()]
    assert lines[0].startswith("# ") and len(lines) > 1, "cell 1: an H1 title, then a one-line purpose"
    assert lines[0].startswith(f"# {path.name[:2]} · "), (
        "the title starts with the notebook's number, as its file name does"
    )
    assert "nav-badge" in cells[1]["metadata"].get("tags", []) and "colab.research.google.com" in _source(cells[1])
    setup = next(i for i, c in enumerate(cells) if "colab-setup" in c["metadata"].get("tags", []))
    assert 'if "google.colab" in sys.modules:' in _source(cells[setup]), "install only on Colab"
    smoke = _source(cells[setup + 2])
    assert "tff.__version__" in smoke and "tff.federated_computation" in smoke, "version checks and a TFF smoke call"
    assert smoke.index("use_private_runtime()") < smoke.index("tff.federated_computation"), (
        "the setup section installs the private runtime before TFF runs anything (SECURITY.md)"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_markdown_before_every_code_cell(path: Path) -> None:
    cells = _cells(path)
    lonely = [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code"
        and cells[i - 1]["cell_type"] != "markdown"
        and "check" not in c["metadata"].get("tags", [])  # a collapsed check follows the cell whose claims it checks
    ]
    assert not lonely, f"code cells {lonely} have no markdown sentence before them"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_checks_and_solutions_are_collapsed(path: Path) -> None:
    """Check cells and every cell under "## Solutions" are collapsed; no lesson cell ends in a check left to fold."""
    assert not folding_needed(nbformat.read(path, as_version=4)), "run `uv run python tools/make_nav.py` to fold them"


def folding_needed(nb: nbformat.NotebookNode) -> bool:
    """True if tools/fold_cells.py would still change the notebook (it is idempotent: a folded one stays as it is)."""
    folded = copy.deepcopy(nb)
    fold_cells.fold(folded)
    return nbformat.writes(folded) != nbformat.writes(nb)


def test_the_folding_check_catches_an_open_solution_an_open_check_and_a_check_left_in_a_lesson() -> None:
    def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
        return nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · t\np"), *cells])

    folded = notebook(nbformat.v4.new_code_cell("x = 1"))
    assert not folding_needed(folded)
    lesson = nbformat.v4.new_code_cell("x = 1\nprint(x)\nassert x == 1")
    check = nbformat.v4.new_code_cell("assert True", metadata={"tags": ["check"]})
    solution = nbformat.v4.new_code_cell("print(2)", metadata={"jupyter": {"source_hidden": True}})
    heading = nbformat.v4.new_markdown_cell("## Solutions")
    for planted in ([lesson], [check], [heading, solution]):
        assert folding_needed(notebook(*copy.deepcopy(planted))), planted


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_ends_with_summary_exercises_and_solutions(path: Path) -> None:
    headings = [
        line.strip()
        for c in _cells(path)
        if c["cell_type"] == "markdown"
        for line in _source(c).splitlines()
        if line.startswith("## ")
    ]
    tail = [h for h in headings if h in ("## Summary", "## Exercises", "## Solutions")]
    assert tail == ["## Summary", "## Exercises", "## Solutions"], headings
    assert headings[-3:] == tail, "Summary, Exercises and Solutions are the last sections"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_skip_tag_says_why_in_metadata_not_in_the_learners_code(path: Path) -> None:
    """A test-harness tag keeps its reason in the cell's metadata ("nbval_reason"), not in the code a learner reads."""
    for i, cell in enumerate(_cells(path)):
        tags = [t for t in cell["metadata"].get("tags", []) if t in SKIP_TAGS]
        if tags:
            assert cell["metadata"].get("nbval_reason", "").strip(), (
                f"cell {i} is tagged {tags} without an nbval_reason"
            )
        if cell["cell_type"] == "code":
            assert not re.search(r"(?im)^#.*\b(nbval|tagged)\b", _source(cell)), (
                f"cell {i}: test-harness comment in code"
            )


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_numbers_in_the_text_come_from_outputs_code_or_a_citation(path: Path) -> None:
    """Every number a markdown cell states as a result is printed, set in code, or cited (tools/number_check.py)."""
    unsupported = number_check.unsupported_in_notebook(path)
    assert not unsupported, (
        f"numbers in the text that no output, code or citation supports (cell, number): {unsupported}. Quote what a "
        'cell printed, or cite the source in the cell\'s metadata: "cited": {"<number>": "<source>"}'
    )


@pytest.mark.parametrize("page", [p for p in number_check.DOCS if p.exists()], ids=lambda p: p.name)
def test_numbers_in_the_readme_and_docs_come_from_outputs_or_committed_json(page: Path) -> None:
    """README and docs numbers come from notebook outputs or the JSON in benchmarks/ and studies/, or are cited."""
    unsupported = number_check.unsupported_in_doc(page)
    assert not unsupported, (
        f"{page.name}: numbers that no notebook output or committed JSON holds (line, number): {unsupported}"
    )


def test_the_number_check_catches_a_planted_mismatch(tmp_path: Path) -> None:
    """A sentence that quotes a number the cell never printed fails, in every form the check covers."""
    printed = "accuracy 0.852 after 10 rounds, 45,855 examples, 2 s; 6 of 10 copies; ratio 3.5x; 80.5%"
    planted = {
        "0.853": "accuracy reached 0.853",
        "2.1": "a gain of 2.1 points",
        "7": "7 of 10 digits",
        "4600": "a file of 4,600 MB",
        "26": "45,855 examples in 26 s",
        "81.5": "81.5% of them",
        "4": "4× smaller",
        "0.794": "from 0.794 to 0.852",
    }
    for number, sentence in planted.items():
        nb = {
            "cells": [
                {
                    "cell_type": "code",
                    "metadata": {},
                    "source": ["print(x)"],
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": [printed]}],
                },
                {"cell_type": "markdown", "metadata": {}, "source": [f"We measured: {sentence}."]},
            ]
        }
        path = tmp_path / "00_planted.ipynb"
        path.write_text(json.dumps(nb))
        assert (1, number) in number_check.unsupported_in_notebook(path, notebooks=[path], root=tmp_path), sentence
    # and what the cell did print passes
    nb["cells"][1]["source"] = [
        "Accuracy 0.852 after 10 rounds (45,855 examples, 2 s), 6 of 10 copies, 3.5× smaller, 80.5%."
    ]
    path.write_text(json.dumps(nb))
    assert number_check.unsupported_in_notebook(path, notebooks=[path], root=tmp_path) == []
    page = tmp_path / "README.md"
    page.write_text("The quickstart reaches 0.852 in 2 s and 0.9 in 3 s. TFF 0.87.0 on Python 3.11.\n")
    assert number_check.unsupported_in_doc(page, notebooks=[path], root=tmp_path) == [(1, "0.9"), (1, "3")]


def _notebook(markdown: str, printed: str = "", metadata: dict | None = None) -> dict:
    """A two-cell notebook: a code cell that printed `printed`, then a markdown cell."""
    return {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": ["print(x)"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [printed]}],
            },
            {"cell_type": "markdown", "metadata": metadata or {}, "source": [markdown]},
        ]
    }


def test_the_number_check_catches_a_run_outside_its_study_unsaid(tmp_path: Path) -> None:
    """A quoted run declared against its study must lie inside the study's range, or the text says it does not."""
    (tmp_path / "studies").mkdir()
    study = {"runs": {"canaries": {"1.0": [7, 10, 13]}, "accuracy": {"0": {"a": 0.514}, "1": {"a": 0.644}}}}
    (tmp_path / "studies" / "x.json").write_text(json.dumps(study))
    path = tmp_path / "00_planted.ipynb"

    def problems(markdown: str, printed: str, declared: dict) -> list[tuple[int, str]]:
        path.write_text(json.dumps(_notebook(markdown, printed, {number_check.STUDY_RANGE: declared})))
        return number_check.unsupported_in_notebook(path, notebooks=[path], root=tmp_path)

    canaries = "studies/x.json:runs/canaries/1.0"
    accuracy = "studies/x.json:runs/accuracy/*/a"  # one number per seed
    # inside the range, at the quoted precision: passes
    assert (
        problems("At noise 1.0, 11 right; accuracy 0.561.", "1.0 11 0.561", {"11": canaries, "0.561": accuracy}) == []
    )
    assert problems("Accuracy 64.4%.", "0.644", {"64.4": accuracy}) == []  # a percentage is a share
    # planted: a run above every study run, quoted as typical
    found = problems("At noise 1.0: 14 right in each run.", "1.0 14", {"14": canaries})
    assert len(found) == 1 and "outside the study's range, 7 to 13 over 3 runs" in found[0][1], found
    found = problems("Accuracy 0.700 this time.", "0.700", {"0.700": accuracy})
    assert len(found) == 1 and "0.514 to 0.644 over 2 runs" in found[0][1], found
    # declared outside, but the text does not quote the study's range: fails; quoting it passes
    assert problems("14 right in each run.", "14", {"14": "outside " + canaries})
    assert problems("14 right, above all study runs (7 to 13).", "14", {"14": "outside " + canaries}) == []
    # declared outside although it is inside: fails
    assert problems("11 right (the study: 7 to 13).", "11", {"11": "outside " + canaries})
    # stale or broken declarations: the number left the text, a missing key, a missing file
    assert "not in the text" in problems("12 right.", "12 11", {"11": canaries})[0][1]
    assert "has no '2.0'" in problems("11 right.", "11", {"11": "studies/x.json:runs/canaries/2.0"})[0][1]
    assert "does not exist" in problems("11 right.", "11", {"11": "studies/y.json:runs"})[0][1]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_paths_named_in_the_notebooks_exist(path: Path) -> None:
    """Every repository path a markdown cell names (in code or as a link) exists (tools/prose_paths.py)."""
    missing = prose_paths.missing_in_notebook(path)
    assert not missing, f"paths that do not exist (cell, path): {missing}"


@pytest.mark.parametrize("page", [p for p in number_check.DOCS if p.exists()], ids=lambda p: p.name)
def test_paths_named_in_the_readme_and_docs_exist(page: Path) -> None:
    """Every repository path a page names (in code or as a link), and every pytest node it names, exists."""
    missing = prose_paths.missing_in_doc(page)
    assert not missing, f"{page.name}: paths that do not exist (line, path): {missing}"


def test_the_paths_check_catches_a_planted_missing_path(tmp_path: Path) -> None:
    """A path, a link or a test name that does not exist fails; existing ones and placeholders pass."""
    for folder in ("studies", "tests", "docs"):
        (tmp_path / folder).mkdir()
    (tmp_path / "studies" / "spread.json").write_text("{}")
    (tmp_path / "tests" / "test_a.py").write_text("def test_real():\n    pass\n")
    page = tmp_path / "docs" / "PAGE.md"
    fine = (
        "Runs in `studies/spread.json`, tested by `tests/test_a.py::test_real` ([results](../studies/spread.json)); "
        "saved to `helpers/<module>.py`, see `benchmarks/*.json` and [the web](https://example.org/x)."
    )
    page.write_text(fine)
    assert prose_paths.missing_in_doc(page, root=tmp_path) == []
    planted = {
        "the stale folder: `benchmarks/spread.json`": "benchmarks/spread.json",
        "a gone test file: `tests/test_gone.py`": "tests/test_gone.py",
        "a renamed test: `tests/test_a.py::test_renamed`": "tests/test_a.py::test_renamed",
        "a broken [link](../studies/nothing.json)": "../studies/nothing.json",
        "a command: ```bash\nuv run python tools/missing.py\n```": "tools/missing.py",
    }
    for sentence, path in planted.items():
        page.write_text(f"{fine}\n{sentence}\n")
        assert [p for _, p in prose_paths.missing_in_doc(page, root=tmp_path)] == [path], sentence
        nb = tmp_path / "docs" / "00_planted.ipynb"
        nb.write_text(json.dumps(_notebook(sentence)))
        assert prose_paths.missing_in_notebook(nb, root=tmp_path) == [(1, path)], sentence


from tools import make_nav  # noqa: E402  (its word count also sets the README's minutes to read)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_one_sitting_per_notebook_and_no_wall_of_text(path: Path) -> None:
    """At most about 2,000 words of prose per notebook and 250 per markdown cell (maths and code blocks aside)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    words = [make_nav.prose_words(c) for c in nb.cells]
    walls = {i: w for i, w in enumerate(words) if w > make_nav.MAX_CELL_WORDS}
    assert not walls, f"markdown cells over {make_nav.MAX_CELL_WORDS} words (cell index: words): {walls}"
    assert sum(words) <= make_nav.MAX_NOTEBOOK_WORDS, f"{sum(words)} words of prose: split the notebook or cut"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_predict_then_run_checks(path: Path) -> None:
    """Two or three "predict, then run" questions, each with its answer collapsed in a <details> block."""
    questions = [
        c for c in _cells(path) if c["cell_type"] == "markdown" and _source(c).startswith("**Predict, then run.**")
    ]
    assert 2 <= len(questions) <= 3, f"{len(questions)} predict-then-run questions"
    for cell in questions:
        text = _source(cell)
        assert "<details>" in text and "<summary>" in text and "</details>" in text, text[:200]


# The repository's evidence and maintenance folders and page: a lesson does not send the learner there; a short
# "How we know" cell at the end of the notebook may (CONTRIBUTING.md, "Checks and answers out of the reader's way").
# The course's own code (helpers/, deploy/), its data and the learner's pages (README, SECURITY, docs/) are lesson
# material and may be named anywhere.
_NOT_IN_LESSONS = re.compile(
    r"(?<![\w-])(?:studies|tests|benchmarks|tools|\.ci)/"  # a path into the folders, in code, a link or plain text
    r"|(?<![\w./-])(?:studies|benchmarks|tools)\.\w"  # a module of theirs (`python -m studies.spread`)
    r"|CONTRIBUTING\.md"
)


def repository_paths_in_lessons(path: Path) -> list[tuple[int, str]]:
    """(cell, what) for each evidence or maintenance path a markdown cell names outside a "How we know" cell."""
    found = []
    for i, cell in enumerate(_cells(path)):
        text = _source(cell)
        if cell["cell_type"] != "markdown" or re.match(r"#+ How we know\b", text):
            continue
        text = re.sub(r"https?://\S+", " ", text)  # a URL's path is GitHub's, not a repository path
        found += [(i, m.group(0)) for m in _NOT_IN_LESSONS.finditer(text)]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_no_lesson_cell_names_a_study_test_benchmark_or_tool(path: Path) -> None:
    """Studies, tests, benchmarks, tools and CONTRIBUTING.md are named only in a "### How we know" cell."""
    found = repository_paths_in_lessons(path)
    assert not found, f"move these to the notebook's '### How we know' cell at the end (cell, path): {found}"


def test_the_lesson_paths_check_catches_each_kind_and_spares_how_we_know(tmp_path: Path) -> None:
    cells = [
        "The spread is in `studies/spread.json`.",
        "See [the table](../benchmarks/RESULTS.md#round).",
        "Run python -m studies.drift_search to repeat it.",
        "tests/test_runs.py checks it.",
        "CONTRIBUTING.md has the tool.",
        "### How we know\n`studies/spread.json`, `tests/test_runs.py` and CONTRIBUTING.md.",
        "`helpers/program.py`, [the deployment](../deploy/), SECURITY.md and https://github.com/o/r/tree/main/tests/x.",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text) for text in cells])
    path = tmp_path / "00_planted.ipynb"
    path.write_text(nbformat.writes(nb))
    assert [i for i, _ in repository_paths_in_lessons(path)] == [0, 1, 2, 3, 4]
