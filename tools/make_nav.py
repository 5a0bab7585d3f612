"""Insert each notebook's Colab badge, previous/next links and setup cell, fold its checks and solutions, and write
the README's notebook table.

Run after adding or renaming a notebook:  uv run python tools/make_nav.py
Run with --check to fail (exit 1) instead of writing when anything is out of date.
Nothing here is edited by hand: the badge and navigation cells, the setup cell and the table are generated.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from datetime import datetime
from pathlib import Path

import nbformat
import tomllib  # the tools run on uv's Python 3.11

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import fold_cells  # noqa: E402  (checks and solutions collapsed, out of the learner's way)
import repo  # noqa: E402  (where the notebooks are, and how a block goes into a page)
import run_standin  # noqa: E402  (tools/ is not a package: its sample runs give the table's peak memory)

README = ROOT / "README.md"
TABLE_START, TABLE_END = "<!-- notebook-table:start -->", "<!-- notebook-table:end -->"
BINDER_START, BINDER_END = "<!-- binder-badge:start -->", "<!-- binder-badge:end -->"
SITE_START, SITE_END = "<!-- site-url:start -->", "<!-- site-url:end -->"
BADGE_TAG, SETUP_TAG, FOOTER_TAG = "nav-badge", "colab-setup", "nav-footer"
TRACKS = {  # a notebook's metadata "course": {"track": ..., "builds_on": ["NN", ...]} names one of these
    "core": "core, in order",
    "inside": "optional: inside TFF",
    "privacy": "privacy, in order",
    "systems": "optional: running it",
    "tasks": "optional: another task",
    "appendix": "appendix",
}
WORDS_PER_MINUTE = 200  # reading speed for the table's minutes to read
MAX_NOTEBOOK_WORDS, MAX_CELL_WORDS = (
    2000,
    250,
)  # one sitting per notebook, no wall of text (tests/test_notebook_structure.py)


def repo_url() -> str:
    """Return the GitHub URL from pyproject.toml's [project.urls] Repository."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return meta["project"]["urls"]["Repository"].rstrip("/")


def release() -> str:
    """The release tag of this version of the collection, `v` + pyproject.toml's version (CONTRIBUTING.md, Releases)."""
    return "v" + tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def colab_url(notebook: Path) -> str:
    """Return the Colab URL that opens `notebook` at this release on GitHub, the release its setup cell clones."""
    slug = repo_url().removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{slug}/blob/{release()}/notebooks/{notebook.name}"


def badge(notebook: Path) -> str:
    """Return the Markdown for the "Open in Colab" badge of `notebook`."""
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook)})"


def binder_badge(first: Path) -> str:
    """Return the Markdown for the Binder badge: this release on mybinder.org, JupyterLab open at `first`."""
    slug = repo_url().removeprefix("https://github.com/")
    url = f"https://mybinder.org/v2/gh/{slug}/{release()}?urlpath=lab/tree/notebooks/{first.name}"
    return f"[![Launch Binder](https://mybinder.org/badge_logo.svg)]({url})"


def site_url() -> str:
    """Return the URL GitHub Pages publishes the course site at (.github/workflows/pages.yml), from the Repository."""
    owner, name = repo_url().removeprefix("https://github.com/").split("/")[:2]
    owner = owner.lower()
    return (
        f"https://{owner}.github.io/" if name.lower() == f"{owner}.github.io" else f"https://{owner}.github.io/{name}/"
    )


def setup_source() -> str:
    """Return the setup cell's code, with the repository URL and the release filled in."""
    return (
        (ROOT / "tools" / "setup_cell.py")
        .read_text()
        .format(repo_url=repo_url() + ".git", release=release())
        .rstrip("\n")
    )


def navigation(path: Path, paths: list[Path]) -> str:
    """Return the "< previous | contents | next >" line for `path` among the ordered notebooks `paths`."""
    i = paths.index(path)
    parts = []
    if i > 0:
        parts.append(f"< [{title_and_purpose(nbformat.read(paths[i - 1], as_version=4))[0]}]({paths[i - 1].name})")
    parts.append("[Contents](../README.md#notebooks)")
    if i + 1 < len(paths):
        parts.append(f"[{title_and_purpose(nbformat.read(paths[i + 1], as_version=4))[0]}]({paths[i + 1].name}) >")
    return " | ".join(parts)


def title_and_purpose(nb: nbformat.NotebookNode) -> tuple[str, str]:
    """Return the H1 title and the one-line purpose from a notebook's first cell."""
    lines = [ln for ln in nb.cells[0].source.splitlines() if ln.strip()]
    if not lines or not lines[0].startswith("# "):
        raise ValueError("the first cell must start with an H1 title")
    return lines[0][2:].strip(), (lines[1].strip() if len(lines) > 1 else "")


def tagged(nb: nbformat.NotebookNode, tag: str) -> int | None:
    """Return the index of the cell carrying `tag`, if any."""
    return next((i for i, c in enumerate(nb.cells) if tag in c.metadata.get("tags", [])), None)


def update_notebook(path: Path, paths: list[Path], write: bool = True) -> bool:
    """Insert or refresh the badge, navigation and setup cells and fold checks and solutions (tools/fold_cells.py).

    Return True if the notebook changed (or would).

    With `write=False` the comparison happens in memory and the file is never touched.
    """
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    title_and_purpose(nb)  # validates the header
    nav = navigation(path, paths)
    badge_cell = nbformat.v4.new_markdown_cell(f"{badge(path)}\n\n{nav}", metadata={"tags": [BADGE_TAG]})
    i = tagged(nb, BADGE_TAG)
    if i is None:
        nb.cells.insert(1, badge_cell)
    else:
        nb.cells[i].source = badge_cell.source
    k = tagged(nb, FOOTER_TAG)
    if k is None:
        nb.cells.append(nbformat.v4.new_markdown_cell(nav, metadata={"tags": [FOOTER_TAG]}))
    elif k != len(nb.cells) - 1:
        raise ValueError(f"{path.name}: the navigation footer (tag {FOOTER_TAG}) must be the last cell")
    else:
        nb.cells[k].source = nav
    src = setup_source()
    j = tagged(nb, SETUP_TAG)
    if j is None:
        heading = next(
            (k for k, c in enumerate(nb.cells) if c.cell_type == "markdown" and c.source.startswith("## Setup")), None
        )
        if heading is None:
            raise ValueError(f"{path.name}: add a '## Setup' markdown cell to explain the setup cell")
        nb.cells.insert(heading + 1, nbformat.v4.new_code_cell(src, metadata={"tags": [SETUP_TAG]}))
    elif nb.cells[j].source != src:
        nb.cells[j].source = src
    fold_cells.fold(nb)
    after = nbformat.writes(nb)
    if after != before:
        if write:
            path.write_text(after + ("" if after.endswith("\n") else "\n"))
        return True
    return False


def prose_words(cell: nbformat.NotebookNode) -> int:
    """Words a learner reads in a markdown cell: its text without fenced code, display maths or navigation."""
    if cell.cell_type != "markdown" or {BADGE_TAG, FOOTER_TAG} & set(cell.metadata.get("tags", [])):
        return 0
    text = re.sub(r"```.*?```", " ", cell.source, flags=re.S)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    return len(text.split())


def run_seconds(nb: nbformat.NotebookNode) -> float | None:
    """The committed execution's wall time, from the cell timings that nbclient records, or None if it has none."""
    times = [c.metadata.get("execution", {}) for c in nb.cells if c.cell_type == "code"]
    starts = [t["iopub.execute_input"] for t in times if "iopub.execute_input" in t]
    ends = [t["shell.execute_reply"] for t in times if "shell.execute_reply" in t]
    if not starts or not ends:
        return None
    parse = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))  # noqa: E731
    return (parse(max(ends)) - parse(min(starts))).total_seconds()


def alone_seconds(path: Path, runs: dict) -> float | None:
    """The notebook's wall time executed alone on the sample (`run_standin.py --sample`), if that run passed on its
    current code; else None."""
    run = runs.get(path.name)
    if run is None or not run["passed"] or run_standin.code_note(run, path):
        return None
    return run["seconds"]


def course(nb: nbformat.NotebookNode, name: str) -> tuple[str, list[str]]:
    """A notebook's track and the notebooks it builds on, from its metadata "course" (checked here)."""
    meta = nb.metadata.get("course")
    if not meta or meta.get("track") not in TRACKS:
        raise ValueError(f"{name}: set metadata course.track to one of {sorted(TRACKS)}, and course.builds_on")
    return meta["track"], list(meta.get("builds_on", []))


def peak_memory(path: Path, runs: dict) -> str:
    """The notebook's peak memory on the sample (kernel plus TFF's worker), from `runs` (`run_standin.py --sample`)."""
    run = runs.get(path.name)
    if run is None or not run["passed"]:
        return "?"
    return f"{run['peak_gib']:.1f}" + run_standin.code_note(run, path)


def notebook_table(paths: list[Path]) -> str:
    """Return the README table: one row per notebook with its purpose, track, minutes, memory and Colab badge."""
    rows = [
        "| Notebook | What you learn | Track; builds on | Read, run (min) | Memory (GiB) | Colab |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    sample = run_standin.SAMPLE_RESULTS
    sample_runs = json.loads(sample.read_text()) if sample.exists() else {}
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        title, purpose = title_and_purpose(nb)
        track, builds_on = course(nb, path.name)
        read = math.ceil(sum(prose_words(c) for c in nb.cells) / WORDS_PER_MINUTE)
        seconds = alone_seconds(path, sample_runs)
        seconds = run_seconds(nb) if seconds is None else seconds
        run = "?" if seconds is None else str(max(1, round(seconds / 60)))
        after = f"; after {', '.join(builds_on)}" if builds_on else ""
        rows.append(
            f"| [{title}](notebooks/{path.name}) | {purpose} | {TRACKS[track]}{after} | {read}, {run} "
            f"| {peak_memory(path, sample_runs)} | {badge(path)} |"
        )
    return "\n".join(rows)


def update_readme(paths: list[Path], write: bool = True) -> bool:
    """Rewrite the README's table, Binder badge and site URL between their markers; return True if they changed (or
    would)."""
    text = README.read_text()
    new = repo.replace_block(text, TABLE_START, TABLE_END, notebook_table(paths))
    new = repo.replace_block(new, BINDER_START, BINDER_END, binder_badge(paths[0]), inline=True)
    new = repo.replace_block(new, SITE_START, SITE_END, f"[{site_url()}]({site_url()})", inline=True)
    if new != text:
        if write:
            README.write_text(new)
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale files and exit 1 instead of writing")
    args = parser.parse_args(argv)
    paths = repo.notebooks()
    if args.check:  # compares in memory: a Jupyter save in the meantime is never overwritten
        stale = [p.name for p in paths if update_notebook(p, paths, write=False)]
        stale += ["README.md"] if update_readme(paths, write=False) else []
        if stale:
            print("out of date (run `uv run python tools/make_nav.py`):", ", ".join(stale))
            return 1
        return 0
    changed = [p.name for p in paths if update_notebook(p, paths)] + (["README.md"] if update_readme(paths) else [])
    print("updated:", ", ".join(changed) if changed else "nothing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
