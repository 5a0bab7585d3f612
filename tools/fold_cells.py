"""Keep a notebook's checks and solutions out of the learner's way, without losing either.

`tools/make_nav.py` applies `fold` to every notebook, and `--check` fails while one is not folded:
- **Checks.** The asserts that end a lesson cell (and `if ...:` blocks holding only asserts) move into a cell of
  their own right after it, tagged `check` and shown collapsed (`jupyter.source_hidden`), so the lesson shows the
  computation and its output and the check still runs in CI. An assert moves only if no later statement of its cell
  assigns a name it reads, so moving it cannot change what it checks. The setup cell's version checks stay.
- **Solutions.** Every cell after the `## Solutions` heading but the navigation footer is tagged `solution` and shown
  collapsed, source and output, so that Run All does not show an answer; the heading stays visible in its own cell.
"""

from __future__ import annotations

import ast
import copy

import nbformat

CHECK_TAG, SOLUTION_TAG = "check", "solution"
CHECK_HEADER = "# Check (collapsed): the claims the text makes about the cell above hold on this run."
SOLUTIONS_HEADING = "## Solutions"
KEEP_TAGS = ("nav-badge", "nav-footer", "colab-setup")


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_check(stmt: ast.stmt) -> bool:
    """An assert, or an `if` whose branches hold only checks (the sample-only asserts)."""
    if isinstance(stmt, ast.Assert):
        return True
    if isinstance(stmt, ast.If):
        return all(is_check(s) for s in stmt.body) and all(is_check(s) for s in stmt.orelse)
    return False


def _names(node: ast.AST, ctx: type) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ctx)}


def _stores(stmt: ast.stmt) -> set[str]:
    names = _names(stmt, ast.Store)
    for n in ast.walk(stmt):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in n.names)
    return names


def _shows_a_value(stmt: ast.stmt) -> bool:
    """True for a bare expression whose value Jupyter would display if it ended the cell (not print or a plot call)."""
    if not isinstance(stmt, ast.Expr):
        return False
    call = stmt.value
    if isinstance(call, ast.Call):
        name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
        return name not in ("print", "display", "show", "tight_layout")
    return True


def split_checks(source: str) -> tuple[str, str] | None:
    """Split a cell's source into its lesson and its checks, or return None if it has no movable check.

    The checks keep their order and the comment lines right above them; a check stays where it is if a later
    statement of the cell assigns a name it reads, and the cell stays whole if the source is not plain Python (an
    IPython magic) or if its lesson would end in an expression whose value Jupyter would then show.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    lines = source.splitlines()
    body = tree.body
    moved: list[ast.stmt] = []
    for k, stmt in enumerate(body):
        if not is_check(stmt):
            continue
        later = set().union(*(_stores(s) for s in body[k + 1 :] if not is_check(s)))
        if not (_names(stmt, ast.Load) & later):
            moved.append(stmt)
    if not moved:
        return None
    kept = [s for s in body if s not in moved]
    if kept and _shows_a_value(kept[-1]):
        return None  # without its checks the cell would end in an expression, and Jupyter would show its value
    if len(moved) == len(body):
        return "", f"{CHECK_HEADER}\n{source.strip()}"

    spans = []
    for stmt in moved:
        start = stmt.lineno - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1  # a comment right above a check explains it
        spans.append((start, stmt.end_lineno))
    taken = {i for a, b in spans for i in range(a, b)}
    lesson = "\n".join(line for i, line in enumerate(lines) if i not in taken)
    checks = "\n".join("\n".join(lines[a:b]) for a, b in spans)
    while "\n\n\n" in lesson:
        lesson = lesson.replace("\n\n\n", "\n\n")
    return lesson.strip("\n"), f"{CHECK_HEADER}\n{checks.strip()}"


def _collapse(cell: nbformat.NotebookNode, tag: str, *, outputs: bool) -> None:
    cell.metadata.setdefault("tags", [])
    if tag not in cell.metadata["tags"]:
        cell.metadata["tags"].append(tag)
    jupyter = cell.metadata.setdefault("jupyter", {})
    jupyter["source_hidden"] = True
    if outputs and cell.cell_type == "code":
        jupyter["outputs_hidden"] = True


def fold(nb: nbformat.NotebookNode) -> None:
    """Move each lesson cell's trailing checks into a collapsed check cell and collapse the solutions, in place."""
    cells: list[nbformat.NotebookNode] = []
    setup = next((i for i, c in enumerate(nb.cells) if "colab-setup" in _tags(c)), None)
    in_solutions = False
    for i, cell in enumerate(nb.cells):
        text = cell.source
        if cell.cell_type == "markdown" and text.lstrip().startswith("#"):
            in_solutions = text.lstrip().startswith(SOLUTIONS_HEADING)
            rest = text.lstrip()[len(SOLUTIONS_HEADING) :].strip("\n") if in_solutions else ""
            if rest:  # the heading stays in view; the answer below it is folded
                cell.source = SOLUTIONS_HEADING
                cells.append(cell)
                cell = nbformat.v4.new_markdown_cell(rest)
            else:
                cells.append(cell)
                continue
        if in_solutions and not set(KEEP_TAGS) & set(_tags(cell)):
            if CHECK_TAG in _tags(cell):  # a check of an answer is part of the answer: folded with it, as a solution
                cell.metadata["tags"].remove(CHECK_TAG)
            _collapse(cell, SOLUTION_TAG, outputs=True)
            cells.append(cell)
            continue
        cells.append(cell)
        if CHECK_TAG in _tags(cell):  # a check written by hand is collapsed like the others
            _collapse(cell, CHECK_TAG, outputs=False)
            continue
        if cell.cell_type != "code" or (setup is not None and i <= setup + 2):
            continue
        parts = split_checks(text)
        if parts is None:
            continue
        if not parts[0]:  # the whole cell checks: it folds where it is
            cell.source = parts[1]
            _collapse(cell, CHECK_TAG, outputs=False)
            continue
        cell.source = parts[0]
        check = nbformat.v4.new_code_cell(parts[1])
        _collapse(check, CHECK_TAG, outputs=False)
        if "nbval-skip" in _tags(cell):  # a check belongs to its cell: skipped together
            check.metadata["tags"].append("nbval-skip")
        if "skip_reason" in cell.metadata:
            check.metadata["skip_reason"] = copy.deepcopy(cell.metadata["skip_reason"])
        cells.append(check)
    nb.cells = cells
