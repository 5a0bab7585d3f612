"""Every number a text states as a result must come from something that ran: the numbers check of the collection.

    uv run python tools/number_check.py            # list the numbers no output, code, JSON or citation supports

What counts as a stated result, in notebook markdown, README.md, CONTRIBUTING.md, SECURITY.md and docs/*.md:
- any number with a decimal point (0.847, 3.5, 1e-5 is not one), alone or in a range ("0.794 to 0.848");
- a percentage (80.5%, 38%);
- an integer with a unit of time, size or ratio (25 s, 3 min, 29 MB, 1.08 GiB, 14×), or with "points";
- both numbers of "N of M" (6 of 10, 17 of 20).
Numbers in code spans, fenced code, LaTeX and link targets are code, not claims, and are skipped, and so are
versions (Python 3.11, TFF 0.87.0, Colab 2026.08: a number after a software name, or with two dots).

A number is supported by the notebook's own outputs and code (its settings), by the outputs of a notebook the same
markdown cell names ("notebook 03"), or by a citation in the cell's metadata, `"cited": {"0.336": "source"}`; a
citation that names a JSON file in the repository is checked against that file's numbers. README and docs numbers
must appear in a notebook's outputs or in one of the committed JSON results (in benchmarks/ and studies/), or be
cited in the page itself by a comment `<!-- cited 0.336: where it comes from -->` (a published number, not one of ours).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Iterable, Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # as a script too: tools.repo from the repository's root
from tools.repo import notebooks  # noqa: E402

NOTEBOOKS = notebooks()
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]

_NUMBER = r"\d[\d,]*(?:\.\d+)?"
_UNIT = (
    r"(?:\s?(?:s|ms|min|minutes?|seconds?|hours?|h|MB|MiB|GB|GiB|KB|KiB|kB|bytes|points?|percentage points)\b"
    r"|\s?[×x](?![\w]))"
)
CLAIM = re.compile(
    rf"(?<![\w.\-/#])(?P<a>{_NUMBER})(?P<pct>\s?%)?"  # a number, maybe a percentage
    rf"(?=(?P<unit>{_UNIT})?)"
    rf"(?:(?P<of>\s+of\s+)(?P<b>{_NUMBER}))?"
)
VERSION = re.compile(
    r"(?:\b(?:Python|glibc|Ubuntu|Debian|macOS|TFF|TF|TensorFlow|TensorBoard|Federated|Colab|ipykernel|IPython|jupyter_client|JupyterLab|jaxlib|jax|"
    r"numpy|setuptools|packaging|typing-extensions|tensorflow|pip|uv|runtime|runtimes|release|version|"
    r"v)\s?(?:[<>=~]=?\s?)?\d[\d.]*(?:\s?(?:,|and|or|…|to|-|–)\s?\d[\d.]*)*)"
    r"|\b\d+\.\d+\.\d+\b|\b20\d\d\.\d\d\b"
)
SKIPPED = [
    re.compile(p, re.S)
    for p in (
        r"```.*?```",
        r"`[^`\n]*`",
        r"\$\$.*?\$\$",
        r"\$[^$\n]*\$",
        r"\]\([^)]*\)",
        r"<!--.*?-->",
        r"https?://\S+",
    )
]


def prose(text: str) -> str:
    """`text` without code spans, fenced code, LaTeX, link targets, comments and URLs."""
    for pattern in SKIPPED:
        text = pattern.sub(" ", text)
    return VERSION.sub(" ", text)


def claimed_numbers(text: str) -> list[str]:
    """The numbers that `text` states as results, by the rules in this module's docstring, without thousands commas."""
    found = []
    for m in CLAIM.finditer(prose(text)):
        a = m.group("a").rstrip(",.")
        decimal = "." in a
        if decimal or m.group("pct") or m.group("unit") or m.group("of"):
            found.append(a.replace(",", ""))
        if m.group("of"):
            found.append(m.group("b").rstrip(",.").replace(",", ""))
    return found


def _forms(number: str) -> list[str]:
    """The ways a program may have printed `number`: as written, with thousands commas, and a percentage as a share."""
    forms = {number}
    if "." not in number and len(number) > 3:
        forms.add(f"{int(number):,}")
    return sorted(forms)


def contains(text: str, number: str, percent: bool = False) -> bool:
    """Whether `text` shows `number` as a number of its own (not the middle of a longer one)."""
    for form in _forms(number):
        if re.search(rf"(?<![\d.]){re.escape(form)}(?!\d|\.\d)", text):
            return True
    if percent:  # 80.5% is supported by a printed 0.805 (or 0.8050)
        share = float(number) / 100
        return any(re.search(rf"(?<![\d.]){re.escape(f'{share:.{d}f}')}(?!\d|\.\d)", text) for d in range(2, 5))
    return False


def json_numbers(path: Path) -> set[str]:
    """Every number in a JSON file, written with 0 to 4 decimals."""

    def walk(value) -> Iterator[float]:
        if isinstance(value, dict):
            for v in value.values():
                yield from walk(v)
        elif isinstance(value, list):
            for v in value:
                yield from walk(v)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield value

    found = set()
    for value in walk(json.loads(path.read_text())):
        found |= {f"{value:.{d}f}" for d in range(5)}
        found |= {f"{100 * value:.{d}f}" for d in range(3)}  # shares quoted as percentages
    return found


def cells(path: Path) -> list[dict]:
    """A notebook's cells."""
    return json.loads(path.read_text())["cells"]


def source(cell: dict) -> str:
    """A cell's source as one string."""
    return "".join(cell["source"])


def outputs(cell: dict) -> str:
    """A cell's text outputs as one string."""
    texts = []
    for output in cell.get("outputs", []):
        texts.append("".join(output.get("text", "")))
        texts += ["".join(v) for k, v in output.get("data", {}).items() if k.startswith("text/")]
    return "\n".join(texts)


def _percent_numbers(text: str) -> set[str]:
    return {m.group(1).replace(",", "") for m in re.finditer(rf"({_NUMBER})\s?%", prose(text))}


def unsupported_in_notebook(
    path: Path, notebooks: Iterable[Path] = NOTEBOOKS, root: Path = ROOT
) -> list[tuple[int, str]]:
    """(cell, number) for each number a markdown cell states that nothing supports."""
    nb = cells(path)
    printed = "\n".join(outputs(c) for c in nb)
    code = "\n".join(source(c) for c in nb if c["cell_type"] == "code")
    others = {int(p.name[:2]): "\n".join(outputs(c) for c in cells(p)) for p in notebooks if p != path}
    missing = []
    for i, cell in enumerate(nb):
        if cell["cell_type"] != "markdown":
            continue
        text = source(cell)
        fenced = "\n".join(re.findall(r"```.*?```", text, re.S))
        named = [int(n) for n in re.findall(r"notebooks? 0?(\d+)\b", text)]
        cited = cell["metadata"].get("cited", {})
        percents = _percent_numbers(text)
        for number in claimed_numbers(text):
            pct = number in percents
            if any(contains(t, number, pct) for t in (printed, code, fenced)):
                continue
            if any(contains(others.get(n, ""), number, pct) for n in named):
                continue
            cite = cited.get(number, "")
            if cite.endswith(".json"):
                if not (root / cite).is_file():
                    missing.append((i, f"{number} (cited from {cite}, which does not exist: fix the metadata)"))
                elif number not in json_numbers(root / cite):
                    missing.append((i, f"{number} (not in {cite})"))
                continue
            if not cite:
                missing.append((i, number))
    return missing


def unsupported_in_doc(path: Path, notebooks: Iterable[Path] = NOTEBOOKS, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, number) for each number a Markdown page states that no notebook output or committed JSON holds."""
    printed = "\n".join(outputs(c) for p in notebooks for c in cells(p))
    results = [p for folder in ("benchmarks", "studies") for p in sorted((root / folder).glob("*.json"))]
    committed = set().union(*(json_numbers(p) for p in results))
    text = path.read_text()
    committed |= set(re.findall(r"<!-- cited (\S+?): ", text))
    missing = []
    for n, line in enumerate(text.splitlines(), start=1):
        percents = _percent_numbers(line)
        for number in claimed_numbers(line):
            if contains(printed, number, number in percents) or number in committed:
                continue
            missing.append((n, number))
    return missing


def main() -> int:
    """List every unsupported number; exit 1 if there is one."""
    bad = 0
    for path in NOTEBOOKS:
        for i, number in unsupported_in_notebook(path):
            print(f"{path.name} cell {i}: {number}")
            bad += 1
    for path in DOCS:
        if path.exists():
            for n, number in unsupported_in_doc(path):
                print(f"{path.relative_to(ROOT)} line {n}: {number}")
                bad += 1
    print(f"{bad} unsupported number(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
