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

A number the text quotes from a run that a study repeats (an unseeded DP or compression run, or one seed of several)
is declared in the markdown cell's metadata with the study's runs, `"study_range": {"0.561":
"studies/spread.json:dp/1.0"}`: a JSON file, a colon, and the path of keys (separated by `/`, `*` for every key or
item) to the runs' values. The number must then lie inside the runs' range at the precision it is quoted with (a
percentage as a share). A number outside it is declared `"outside studies/...:path"`, and the cell must quote the
study's lowest and highest run, so that the text says so; a declaration whose number left the text is stale.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Callable, Iterable, Iterator

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


def _json_leaves(value: object) -> Iterator[float]:
    """Every number (not a bool) inside a parsed JSON value, in document order."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            yield from _json_leaves(v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield value


def json_numbers(path: Path) -> set[str]:
    """Every number in a JSON file, written with 0 to 4 decimals."""
    found = set()
    for value in _json_leaves(json.loads(path.read_text())):
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
    return missing + study_range_problems(path, root)


STUDY_RANGE = "study_range"  # the markdown cell metadata that ties a quoted number to a study's runs
OUTSIDE = "outside "


def study_values(reference: str, root: Path = ROOT) -> list[float]:
    """The runs that `reference`, "studies/x.json:key/key", names: every number under that path of the JSON file.

    `*` in the path stands for every key of a dict or item of a list, and an integer for a list's item.

    Raises:
      ValueError: the file or a key does not exist, or the path holds no number.
    """
    file, _, path = reference.partition(":")
    if not (root / file).is_file():
        raise ValueError(f"{file} does not exist")
    nodes = [json.loads((root / file).read_text())]
    for key in path.split("/") if path else []:
        found = []
        for node in nodes:
            if key == "*":
                found += list(node.values()) if isinstance(node, dict) else list(node)
            elif isinstance(node, dict) and key in node:
                found.append(node[key])
            elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
                found.append(node[int(key)])
            else:
                raise ValueError(f"{file} has no {key!r} at {path!r}")
        nodes = found

    values = [float(v) for node in nodes for v in _json_leaves(node)]
    if not values:
        raise ValueError(f"{reference} holds no number")
    return values


def _decimals(number: str) -> int:
    return len(number.split(".")[1]) if "." in number else 0


def study_range_problems(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(cell, problem) for each `study_range` declaration whose number lies outside its study's runs unsaid.

    A declared number must be in the cell's text, inside the range of the runs it names at its quoted precision, or
    declared "outside ..." with the cell quoting the lowest and highest run at that precision.
    """
    problems = []
    for i, cell in enumerate(cells(path)):
        declared = cell["metadata"].get(STUDY_RANGE, {})
        if not declared:
            continue
        text = prose(source(cell))
        percents = _percent_numbers(source(cell))
        for number, reference in declared.items():
            said_outside = reference.startswith(OUTSIDE)
            reference = reference.removeprefix(OUTSIDE).strip()
            if not contains(text, number):
                problems.append((i, f"{number} (declared in {STUDY_RANGE} but not in the text: update the metadata)"))
                continue
            try:
                runs = study_values(reference, root)
            except ValueError as error:
                problems.append((i, f"{number} ({STUDY_RANGE} {reference!r}: {error})"))
                continue
            decimals = _decimals(number) + (2 if number in percents else 0)
            value = float(number) / (100 if number in percents else 1)
            low, high = round(min(runs), decimals), round(max(runs), decimals)
            span = f"{low:.{decimals}f} to {high:.{decimals}f} over {len(runs)} runs of {reference}"
            inside = low <= round(value, decimals) <= high
            if inside and said_outside:
                problems.append((i, f"{number} (declared outside the study's range, but it lies inside it, {span}: "
                                    "drop 'outside' and say so in the text)"))  # fmt: skip
            elif not inside and not said_outside:
                problems.append((i, f"{number} (outside the study's range, {span}: say so in the text, quoting the "
                                    f"range, and declare it \"{OUTSIDE}{reference}\")"))  # fmt: skip
            elif not inside:
                shown = [f"{x:.{decimals}f}" for x in (low, high)]
                scale = 100 if number in percents else 1
                quoted = [f"{x * scale:.{max(decimals - 2, 0)}f}" for x in (low, high)] if scale == 100 else shown
                if not all(contains(text, q) for q in quoted):
                    problems.append((i, f"{number} (outside the study's range, {span}, but the cell does not quote "
                                        f"its lowest and highest run, {quoted[0]} and {quoted[1]})"))  # fmt: skip
    return problems


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


def report(in_notebook: Callable[[Path], list], in_doc: Callable[[Path], list], what: str) -> int:
    """Print each finding of `in_notebook` over the notebooks and `in_doc` over the docs pages, then their count as
    "N `what`"; return 1 if there is one (the command-line tools' exit code)."""
    bad = 0
    for path in NOTEBOOKS:
        for i, found in in_notebook(path):
            print(f"{path.name} cell {i}: {found}")
            bad += 1
    for path in DOCS:
        if path.exists():
            for n, found in in_doc(path):
                print(f"{path.relative_to(ROOT)} line {n}: {found}")
                bad += 1
    print(f"{bad} {what}")
    return 1 if bad else 0


def main() -> int:
    """List every unsupported number; exit 1 if there is one."""
    return report(unsupported_in_notebook, unsupported_in_doc, "unsupported number(s)")


if __name__ == "__main__":
    sys.exit(main())
