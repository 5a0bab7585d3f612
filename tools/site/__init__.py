"""The course site: every notebook, from its committed outputs, and the docs pages, as static HTML.

    uv run python -m tools.site            # writes build/site/ (open build/site/index.html)

Sphinx with myst-nb (`nb_execution_mode = "off"`: nothing is executed) and the book theme, all from the dev
dependencies; MathJax is vendored in tools/site/_static, so the pages work offline and the build fetches nothing.
Warnings are errors: a broken internal link or a missing image fails the build. How a notebook is shown (checks
and solutions folded, repository links that are not pages sent to GitHub) is decided here, in memory: the
notebook files are only read.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from tools.fold_cells import CHECK_TAG, SOLUTION_TAG

ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = Path(__file__).resolve().parent
OUT = ROOT / "build" / "site"
COMMAND = "uv run python -m tools.site"  # the README, .github/workflows/pages.yml and tests/test_site.py name it

# The left-hand table of contents: the tracks in course order (their labels are tools/make_nav.py's TRACKS), then
# the pages. A page that does not exist in the source folder is left out (the tests build small folders).
TRACK_ORDER = ["core", "privacy", "inside", "systems", "tasks", "appendix"]
PAGES = [
    "docs/USAGE.md",
    "docs/COLAB.md",
    "docs/RESULTS.md",
    "docs/GLOSSARY.md",
    "docs/MIGRATION.md",
    "SECURITY.md",
    "CONTRIBUTING.md",
]
CHECK_LABEL = "Check: the claims the text makes about the cell above hold on this run"
SOLUTION_LABEL = "Solution"
_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^()\s]+)\)")


def tracks(source: Path) -> dict[str, list[str]]:
    """The notebooks of `source`/notebooks by track, in course order, as docnames (from each notebook's metadata)."""
    by_track: dict[str, list[str]] = {track: [] for track in TRACK_ORDER}
    for path in sorted((source / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        track = json.loads(path.read_text())["metadata"].get("course", {}).get("track")
        if track not in by_track:
            raise ValueError(f"{path.name}: metadata course.track must be one of {TRACK_ORDER}")
        by_track[track].append(f"notebooks/{path.stem}")
    return {track: names for track, names in by_track.items() if names}


def toctree(source: Path, labels: dict[str, str]) -> str:
    """The hidden toctrees that the landing page (README) gets: one per track, then the pages."""
    blocks = []
    for track, names in tracks(source).items():
        blocks.append(
            f"```{{toctree}}\n:hidden:\n:caption: {labels.get(track, track)}\n\n" + "\n".join(names) + "\n```"
        )
    pages = [p.removesuffix(".md") for p in PAGES if (source / p).exists()]
    if pages:
        blocks.append("```{toctree}\n:hidden:\n:caption: Pages\n\n" + "\n".join(pages) + "\n```")
    return "\n\n" + "\n\n".join(blocks) + "\n"


def link_target(source: Path, docname: str, target: str, blob_url: str) -> str:
    """Where a Markdown link of page `docname` should point on the site.

    A page of the site or an anchor stays as it is (Sphinx resolves it and fails on a broken one); a file or folder
    of the repository that is not a page goes to GitHub at this release; anything that does not exist stays as it
    is, so that the build fails on it.
    """
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
        return target
    path, _, anchor = target.partition("#")
    here = (source / docname).parent
    resolved = Path(os.path.normpath(here / path))  # not resolve(): a symlinked file is still the repository's
    try:
        relative = resolved.relative_to(Path(os.path.normpath(source)))
    except ValueError:
        return target
    if not resolved.exists() or _is_page(source, relative):
        return target
    kind = "tree" if resolved.is_dir() else "blob"
    return f"{blob_url.replace('/blob/', f'/{kind}/')}/{relative.as_posix()}" + (f"#{anchor}" if anchor else "")


def _is_page(source: Path, relative: Path) -> bool:
    name = relative.as_posix()
    if name == "README.md" or name in PAGES:
        return True
    return bool(re.fullmatch(r"notebooks/\d\d_[^/]+\.ipynb", name))


def rewrite_links(text: str, source: Path, docname: str, blob_url: str) -> str:
    """`text` with each Markdown link to a repository file that is not a page pointed at GitHub (`link_target`)."""
    return _LINK.sub(lambda m: f"[{m[1]}]({link_target(source, docname, m[2], blob_url)})", text)


def fold_notebook(nb: dict[str, Any]) -> dict[str, Any]:
    """How the site shows a notebook's checks and solutions, as myst-nb tags (the notebook's own are kept).

    A code cell tagged `check` is folded under a one-line label; one tagged `solution` is folded, source and
    output, under "Solution: code and output"; a markdown cell tagged `solution` is put inside a <details> under
    "Solution".
    """
    for cell in nb["cells"]:
        tags = cell.get("metadata", {}).get("tags", [])
        if SOLUTION_TAG not in tags and CHECK_TAG not in tags:
            continue
        if cell["cell_type"] == "code":
            label = f"{SOLUTION_LABEL}: code and output" if SOLUTION_TAG in tags else CHECK_LABEL
            cell["metadata"]["tags"] = [*tags, "hide-cell"]
            cell["metadata"]["mystnb"] = {"code_prompt_show": label, "code_prompt_hide": label}
        elif cell["cell_type"] == "markdown" and SOLUTION_TAG in tags:
            text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            cell["source"] = (
                f'<details class="solution">\n<summary>{SOLUTION_LABEL}</summary>\n\n{text.strip()}\n\n</details>'
            )
    return nb


def build(out: Path = OUT, source: Path = ROOT, *, quiet: bool = True) -> Path:
    """Build the site from `source` (the repository, or a folder laid out like it) into `out`; return `out`.

    Raises:
      RuntimeError: Sphinx stopped, with a warning (warnings are errors) or an error.
    """
    from sphinx.cmd.build import build_main

    out = Path(out)
    doctrees = out.parent / f"{out.name}-doctrees"
    for folder in (out, doctrees):  # a fresh build (myst-nb also writes the outputs' images to ../jupyter_execute)
        shutil.rmtree(folder, ignore_errors=True)
    args = ["-b", "html", "-W", "--keep-going", "-c", str(CONF_DIR), "-d", str(doctrees), "-j", "auto"]
    args += ["-q"] if quiet else []
    status = build_main([*args, str(source), str(out)])
    if status != 0:
        raise RuntimeError(f"the site did not build (exit {status}): see the warnings above")
    # GitHub Pages and a browser opening the folder start at index.html: the landing page is the README's.
    (out / "index.html").write_text(
        '<!DOCTYPE html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=README.html">'
        '<title>Redirect</title></head><body><a href="README.html">The course</a></body></html>\n'
    )
    (out / ".nojekyll").write_text("")
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: build the site and say where it is and how long it took."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=OUT, help="output folder (default: build/site)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the repository (or a folder laid out like it)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        out = build(args.out, args.source.resolve(), quiet=not os.environ.get("FL_SITE_VERBOSE"))
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"built the site in {time.monotonic() - started:.0f} s: open {out / 'index.html'}")
    return 0
