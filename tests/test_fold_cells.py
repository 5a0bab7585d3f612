"""tools/fold_cells.py: checks move to collapsed cells without changing what they check; solutions fold."""

from __future__ import annotations

import nbformat

from tools import fold_cells


def test_trailing_checks_move_with_their_comment() -> None:
    lesson, checks = fold_cells.split_checks(
        'x = 1\nprint(x)\n# why it holds\nassert x == 1, "one"\nif True:\n    assert x > 0\n'
    )
    assert lesson == "x = 1\nprint(x)"
    assert checks.splitlines() == [
        fold_cells.CHECK_HEADER,
        "# why it holds",
        'assert x == 1, "one"',
        "if True:",
        "    assert x > 0",
    ]


def test_a_check_stays_where_a_later_statement_changes_what_it_reads() -> None:
    lesson, checks = fold_cells.split_checks("x = 1\nassert x == 1\ny = 2\nassert y == 2\nx = 3\nprint(x)\n")
    assert "assert x == 1" in lesson and "assert y == 2" not in lesson
    assert checks.endswith("assert y == 2")


def test_nothing_moves_when_the_cell_would_then_show_a_value_or_is_not_python() -> None:
    assert fold_cells.split_checks("x = 1\nx + 1\nassert x == 1\n") is None  # Jupyter would print x + 1
    assert fold_cells.split_checks("%time x = 1\nassert x == 1\n") is None
    assert fold_cells.split_checks("print(1)\n") is None


def test_a_cell_of_checks_only_folds_where_it_is() -> None:
    lesson, checks = fold_cells.split_checks("assert 1 == 1\n")
    assert lesson == "" and checks.endswith("assert 1 == 1")


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 99 · Title\nPurpose."),
        nbformat.v4.new_markdown_cell("We compute x."),
        nbformat.v4.new_code_cell("x = 1\nprint(x)\nassert x == 1"),
        nbformat.v4.new_markdown_cell("## Exercises\n1. Why?"),
        nbformat.v4.new_markdown_cell("## Solutions\n**1.** Because."),
        nbformat.v4.new_code_cell("print(2)"),
        nbformat.v4.new_markdown_cell("It printed 2."),
        nbformat.v4.new_markdown_cell("< previous", metadata={"tags": ["nav-footer"]}),
    ]
    return nb


def test_fold_collapses_checks_and_solutions_and_is_idempotent() -> None:
    nb = _notebook()
    fold_cells.fold(nb)
    sources = [c.source for c in nb.cells]
    assert sources[2] == "x = 1\nprint(x)"
    check = nb.cells[3]
    assert check.metadata["tags"] == ["check"] and check.metadata["jupyter"] == {"source_hidden": True}
    heading = sources.index("## Solutions")
    assert "jupyter" not in nb.cells[heading].metadata, "the heading stays in view"
    answers = nb.cells[heading + 1 : -1]
    assert [c.source for c in answers] == ["**1.** Because.", "print(2)", "It printed 2."]
    for cell in answers:
        assert "solution" in cell.metadata["tags"] and cell.metadata["jupyter"]["source_hidden"]
    assert answers[1].metadata["jupyter"]["outputs_hidden"]
    assert "jupyter" not in nb.cells[-1].metadata, "the navigation footer stays in view"
    once = nbformat.writes(nb)
    fold_cells.fold(nb)
    assert nbformat.writes(nb) == once


def test_a_check_cell_under_the_solutions_becomes_part_of_the_answer() -> None:
    """A check folded before its exercise moved under `## Solutions` is folded as a solution, not as both."""
    nb = nbformat.v4.new_notebook()
    check = nbformat.v4.new_code_cell("assert answer == 2", metadata={"tags": ["check"]})
    nb.cells = [nbformat.v4.new_markdown_cell("## Solutions"), nbformat.v4.new_code_cell("answer = 2"), check]
    fold_cells.fold(nb)
    assert nb.cells[2].metadata["tags"] == ["solution"]
    assert nb.cells[2].metadata["jupyter"] == {"source_hidden": True, "outputs_hidden": True}
