"""Every repository path the prose names must exist: the paths check of the collection.

    uv run python tools/prose_paths.py            # list the paths in notebook markdown and the docs that do not exist

A path is named in a code span or a code block (`studies/spread.json`, `tests/test_program.py::test_name`), or as a
link target (`[results](../benchmarks/RESULTS.md)`), in notebook markdown, README.md, CONTRIBUTING.md, SECURITY.md
and docs/*.md. In code, the paths under the repository's own folders count (`studies/`, `tests/`, `benchmarks/`,
`tools/`, `helpers/`, `notebooks/`, `docs/`, `data/`, `deploy/`, `binder/`), from the repository's root; a link target
counts wherever it points inside the repository, from the page's folder. A pytest node (`file::test_name`) must name
a test the file defines. Placeholders (`helpers/<module>.py`, `benchmarks/*.json`, `notebooks/NN_topic.ipynb`) are
patterns, not paths.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # as a script too: tools.* from the repository's root
from tools.number_check import cells, report, source  # noqa: E402

FOLDERS = ("studies", "tests", "benchmarks", "tools", "helpers", "notebooks", "docs", "data", "deploy", "binder")
CODE = re.compile(r"```.*?```|`[^`\n]+`", re.S)
IN_CODE = re.compile(
    rf"(?<![\w./~-])((?:{'|'.join(FOLDERS)})/[\w./-]*)(?:::(\w+))?"  # a path from the root, maybe a pytest node
)
LINK = re.compile(r"\]\(([^)\s]+)\)")
PATTERN = re.compile(r"[*<>{}$]|\bNN_")  # helpers/<module>.py, benchmarks/*.json, notebooks/NN_x


def _test_defined(file: Path, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def {re.escape(name)}\(", file.read_text(), re.M) is not None


def missing_paths(text: str, base: Path, root: Path = ROOT) -> list[str]:
    """The repository paths that `text` (Markdown whose links are relative to `base`) names and that do not exist."""
    missing = []
    for span in CODE.finditer(text):
        for m in IN_CODE.finditer(span.group(0)):
            raw, test = m.group(1).rstrip(".,;:"), m.group(2)
            if PATTERN.search(span.group(0)[m.start() : m.end() + 1]):
                continue
            target = root / raw
            if not target.exists():
                missing.append(raw)
            elif test and target.is_file() and not _test_defined(target, test):
                missing.append(f"{raw}::{test}")
    for m in LINK.finditer(CODE.sub(" ", text)):
        link = m.group(1).split("#")[0]
        if not link or re.match(r"[a-z][\w+.-]*:", link) or PATTERN.search(link):
            continue  # an anchor, a URL (https:, mailto:) or a pattern
        target = (base / link).resolve()
        if target.is_relative_to(root.resolve()) and not target.exists():
            missing.append(link)
    return missing


def missing_in_notebook(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(cell, path) for each path a markdown cell of the notebook names that does not exist."""
    return [
        (i, missing)
        for i, cell in enumerate(cells(path))
        if cell["cell_type"] == "markdown"
        for missing in missing_paths(source(cell), path.parent, root)
    ]


def missing_in_doc(page: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, path) for each path a Markdown page names that does not exist."""
    text = page.read_text()
    found = []
    for missing in missing_paths(text, page.parent, root):
        line = next((n for n, t in enumerate(text.splitlines(), start=1) if missing.split("::")[0] in t), 0)
        found.append((line, missing))
    return found


def main() -> int:
    """List every path that the prose names and that does not exist; exit 1 if there is one."""
    return report(missing_in_notebook, missing_in_doc, "missing path(s)")


if __name__ == "__main__":
    sys.exit(main())
