"""Every glossary term a notebook uses is defined or linked where the notebook first uses it: the glossary check.

    uv run python tools/glossary_check.py          # list each notebook's terms whose first use is bare
    uv run python tools/glossary_check.py --fix notebooks/05_federated_evaluation.ipynb   # link them, in place

The terms are the headings under "## Terms" in docs/GLOSSARY.md; `TERMS` below gives, for each heading's anchor, the
phrases that count as a use of it (a test fails while a heading has no entry here, or an entry no heading). A phrase
matches as a whole word, in any case, with an optional plural "s"; "seed" does not match inside "seed model", which
is a term of its own.

A use is a phrase in a markdown cell's prose: fenced code, code spans, maths, HTML tags and comments, link targets,
images and headings are not prose, nor are the generated navigation cells and the title and one-line purpose at the
top (the README's table shows them). At a term's first use in a notebook, one of these must hold:
- linked: the use is the text of a link to the term's own anchor, `[cohort](../docs/GLOSSARY.md#cohort)`;
- defined in bold: one of the term's phrases is in bold somewhere in the same cell (`a **cohort** is ...`), which is
  how the notebooks mark the word a sentence defines;
- defined in place: the use is followed by a parenthetical or by "means" or "stands for" (`IID (independent and
  identically distributed)`), or preceded by "called", "known as" or "we call". ("X is ..." is not enough: "the
  label skew is built in" is no definition.)
The check is textual: it cannot tell a good definition from a poor one, only that the reader is given one (or a link
to one) where the word first appears.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # as a script too: tools.* from the repository's root
from tools.number_check import cells, source  # noqa: E402

GLOSSARY = ROOT / "docs" / "GLOSSARY.md"

# The glossary heading's anchor (GitHub's and the course site's) -> the phrases that count as a use of the term.
TERMS: dict[str, tuple[str, ...]] = {
    "accountant": ("accountant",),
    "adam-and-yogis-settings": ("β₁", "β₂"),
    "aggregator": ("aggregator",),
    "amplification-by-sampling": ("amplification",),
    "binomial-draw": ("binomial",),
    "bootstrap-interval": ("bootstrap",),
    "central-training": ("centralized", "centralised", "central training"),
    "client": ("client",),
    "client-drift": ("client drift",),
    "cohort": ("cohort",),
    "differential-privacy": ("differential privacy", "differentially private"),
    "dirichlet-split": ("Dirichlet",),
    "distributor-client-work-finalizer": ("distributor", "finalizer", "client work"),
    "dp-fedavg": ("DP-FedAvg", "noise multiplier"),
    "entropy-of-a-label-mix": ("entropy",),
    "epoch": ("epoch",),
    "federated-averaging-fedavg": ("FedAvg", "federated averaging"),
    "fedsgd": ("FedSGD",),
    "iid-and-non-iid": ("IID", "non-IID"),
    "label-skew": ("label skew", "label-skewed"),
    "logits": ("logit",),
    "membership-inference": ("membership inference",),
    "model-update": ("model update",),
    "null-model": ("null model",),
    "placement": ("placement",),
    "pseudo-gradient": ("pseudo-gradient",),
    "range-over-runs": ("90% range", "range over runs"),
    "round": ("round",),
    "secure-aggregation": ("secure aggregation",),
    "seed": ("seed(?! model)",),
    "seed-model": ("seed model",),
    "server": ("server",),
    "worker": ("worker",),
}

# Not prose: replaced by spaces of the same length, so that positions in the text stay those of the source.
_NOT_PROSE = re.compile(
    r"```.*?```"  # fenced code
    r"|`[^`\n]+`"  # code spans
    r"|\$\$.*?\$\$|\$[^$\n]+\$"  # maths
    r"|<!--.*?-->|<[^>\n]+>"  # HTML comments and tags
    r"|!\[[^\]]*\]\([^)]*\)"  # images
    r"|(?<=\])\([^()\s]+\)"  # link targets
    r"|^#+ [^\n]*",  # headings
    re.S | re.M,
)
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_DEFINED_AFTER = re.compile(r"^[*_]*(?:\s+\(|,? (?:means|stands for)\b)")
_DEFINED_BEFORE = re.compile(r"\b(?:called|known as|we call)\s+[*_]*$")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading (the course site's too: myst_heading_anchors): lower case, punctuation dropped."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def glossary_anchors(glossary: Path = GLOSSARY) -> list[str]:
    """The anchors of the term headings (### under "## Terms") of the glossary."""
    terms = glossary.read_text().split("\n## Terms\n", 1)[1].split("\n## ", 1)[0]
    return [slug(h) for h in re.findall(r"^### (.+)$", terms, re.M)]


def _pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-])(?:{'|'.join(phrases)})(?:e?s)?(?!\w)", re.I)


def prose(text: str) -> str:
    """`text` with everything that is not prose blanked out (same length)."""
    return _NOT_PROSE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def _linked(text: str, start: int, end: int, anchor: str, base: Path, glossary: Path) -> bool:
    for link in _LINK.finditer(text):
        if link.start(1) <= start and end <= link.end(1):
            path, _, fragment = link.group(2).partition("#")
            return fragment == anchor and bool(path) and (base / path).resolve() == glossary.resolve()
    return False


def first_use_is_bare(text: str, start: int, end: int, anchor: str, base: Path, glossary: Path = GLOSSARY) -> bool:
    """True unless the use at text[start:end] is linked to `anchor` or defined there (see the module's docstring)."""
    if _linked(text, start, end, anchor, base, glossary):
        return False
    pattern = _pattern(TERMS[anchor])
    if any(pattern.search(prose(bold.group(1))) for bold in _BOLD.finditer(text)):
        return False
    after = re.sub(r"^\]\([^()\s]*\)", "", text[end:])  # past the target of a link the use is the text of
    return not (_DEFINED_AFTER.match(after) or _DEFINED_BEFORE.search(text[:start]))


def _lesson_cells(path: Path) -> list[tuple[int, str]]:
    """(index, source) of the markdown cells a reader reads, the title and purpose lines of the first blanked."""
    found = []
    for i, cell in enumerate(cells(path)):
        tags = set(cell["metadata"].get("tags", []))
        if cell["cell_type"] != "markdown" or tags & {"nav-badge", "nav-footer"}:
            continue
        text = source(cell)
        if i == 0:
            lines = text.split("\n")
            top = [n for n, line in enumerate(lines) if line.strip()][:2]
            text = "\n".join(" " * len(line) if n in top else line for n, line in enumerate(lines))
        found.append((i, text))
    return found


def bare_first_uses(path: Path, glossary: Path = GLOSSARY) -> list[tuple[int, str, str]]:
    """(cell, anchor, words) for each glossary term whose first use in the notebook is neither linked nor defined."""
    lesson = [(i, text, prose(text)) for i, text in _lesson_cells(path)]
    bare = []
    for anchor, phrases in TERMS.items():
        pattern = _pattern(phrases)
        for i, text, plain in lesson:
            use = pattern.search(plain)
            if use:
                if first_use_is_bare(text, use.start(), use.end(), anchor, path.parent, glossary):
                    bare.append((i, anchor, use.group(0)))
                break
    return sorted(bare)


def link_first_uses(path: Path, glossary: Path = GLOSSARY) -> list[tuple[int, str, str]]:
    """Link each bare first use in the notebook to its anchor, in place; return the (cell, anchor, words) it could not.

    A use inside the text of another link is left for a person to reword.
    """
    import nbformat

    left = []
    while True:
        bare = [b for b in bare_first_uses(path, glossary) if b not in left]
        if not bare:
            return left
        i, anchor, _ = bare[0]
        nb = nbformat.read(path, as_version=4)
        text = nb.cells[i].source
        use = _pattern(TERMS[anchor]).search(prose(dict(_lesson_cells(path))[i]))
        start, end = use.span()
        if any(link.start(1) <= start and end <= link.end(1) for link in _LINK.finditer(text)):
            left.append(bare[0])
            continue
        target = Path(os.path.relpath(glossary, path.parent)).as_posix()
        nb.cells[i].source = f"{text[:start]}[{text[start:end]}]({target}#{anchor}){text[end:]}"
        nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    """List each notebook's glossary terms whose first use is bare (or link them, --fix); exit 1 if one is left."""
    import argparse

    from tools.repo import notebooks

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    parser.add_argument("--fix", action="store_true", help="link each bare first use to its anchor, in place")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.notebooks or notebooks():
        if args.fix:
            link_first_uses(path)
        for i, anchor, words in bare_first_uses(path):
            print(
                f"{path.name} cell {i}: '{words}' is used first here, neither linked (GLOSSARY.md#{anchor}) nor defined"
            )
            failed += 1
    print(f"{failed} bare first use(s) of a glossary term")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
