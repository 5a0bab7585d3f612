"""Save code taught in a notebook into `helpers/`, once, as d2l saves its `#@save` code: the notebook is the source.

    uv run python tools/save_code.py           # copy every marked definition into its helpers module
    uv run python tools/save_code.py --check   # exit 1 if a helpers module differs from its notebooks; write nothing

In a notebook, a line `#@save helpers/<module>.py` right above a top-level `def` or `class` marks that definition.
The tool copies it, in notebook order, between the module's two markers below, formatted by ruff; the module's
imports and anything outside the markers are written by hand. Later notebooks, the studies and the tests import the
saved definition from `helpers`, so a change to the lesson reaches them, and `--check` (run by the tests) fails
until the module has been saved again.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # as a script too: tools.* from the repository's root
from tools.generated import write_or_check  # noqa: E402
from tools.repo import notebooks, replace_block  # noqa: E402

MARK = re.compile(r"^#@save(?:\s+(?P<target>\S+))?\s*$")
TARGET = re.compile(r"^helpers/[a-z_]+\.py$")
START = "# --- saved from the notebooks by tools/save_code.py: edit the code there, then run the tool ---"
END = "# --- end of saved code ---"
COMMAND = "uv run python tools/save_code.py"


def marked(source: str, where: str) -> list[tuple[str, str]]:
    """The (target module, definition source) pairs a code cell marks with `#@save`.

    Raises:
      ValueError: a marker names no module under helpers/, or is not right above a top-level def or class.
    """
    lines = source.splitlines()
    marks = {i + 1: m for i, line in enumerate(lines) if (m := MARK.match(line.strip()))}
    if not marks:
        return []
    tree = ast.parse(source)
    found = []
    for node in tree.body:
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        mark = marks.pop(first - 1, None)
        if mark is None:
            continue
        target = mark.group("target") or ""
        if not TARGET.match(target):
            raise ValueError(
                f"{where}, line {first - 1}: `#@save` must name the module to save to, as `#@save helpers/name.py`"
            )
        found.append((target, "\n".join(lines[first - 1 : node.end_lineno])))
    if marks:
        line = min(marks)
        raise ValueError(f"{where}, line {line}: `#@save` must sit on the line right above a top-level def or class")
    return found


def saved(paths: list[Path]) -> dict[str, list[str]]:
    """Every marked definition in the notebooks at `paths`, by target module, in notebook order."""
    by_target: dict[str, list[str]] = {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            for target, code in marked(cell.source, f"{path.name}, cell {index}"):
                by_target.setdefault(target, []).append(f"# notebook {path.name}\n{code}")
    return by_target


def ruff_format(text: str, target: Path) -> str:
    """`text` as `ruff format` writes it, with the repository's settings."""
    done = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--stdin-filename", str(target), "-"],
        input=text,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode:
        raise ValueError(f"ruff cannot format the code saved to {target.name}:\n{done.stderr}")
    return done.stdout


def module_text(target: Path, definitions: list[str]) -> str:
    """The module at `target` with its saved block replaced by `definitions`, formatted."""
    body = "\n\n\n".join(definitions)
    return ruff_format(replace_block(target.read_text(), START, END, body), target)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: write (or with --check compare) every module that has saved code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a module is stale; write nothing")
    args = parser.parse_args(argv)
    by_target = saved(notebooks())
    holders = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "helpers").glob("*.py") if START in p.read_text())
    for orphan in sorted(set(holders) - set(by_target)):  # a block whose notebook code is gone would go stale unseen
        by_target[orphan] = []
    status = 0
    for target, definitions in sorted(by_target.items()):
        status |= write_or_check(ROOT / target, module_text(ROOT / target, definitions), COMMAND, args.check)
    return status


if __name__ == "__main__":
    sys.exit(main())
