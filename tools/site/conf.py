"""Sphinx configuration of the course site (tools/site/__init__.py builds it; nothing here runs a notebook)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, for tools.make_nav and tools.site
from tools import (
    make_nav,  # noqa: E402
    site,  # noqa: E402
)

project = "Federated learning tutorials that actually run"
author = "the fl-tutorials contributors"
copyright = "the fl-tutorials contributors"
root_doc = "README"
extensions = ["myst_nb"]

# Only the course's pages are read: the README, the docs pages and the notebooks. Every other top-level folder is
# excluded, so that Sphinx does not walk .venv/ or data/ (set for the actual source folder in _exclude, below).
include_patterns = ["README.md", "CONTRIBUTING.md", "SECURITY.md", "docs/*.md", "notebooks/[0-9][0-9]_*.ipynb"]
exclude_patterns: list[str] = []

# The committed outputs are the outputs: nothing is executed, nothing is cached.
nb_execution_mode = "off"
nb_merge_streams = True
# Widgets (tqdm's bar) would load their JavaScript from a CDN: none is loaded, and their saved text is shown.
nb_ipywidgets_js: dict = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 4  # GitHub's anchors (#the-pip-path), which the pages and notebooks link to

# MathJax 3 (SVG output, all TeX extensions in one file) from tools/site/_static: no CDN.
html_static_path = ["_static"]
html_css_files = ["site.css"]
mathjax_path = "mathjax/tex-svg-full.js"
mathjax3_config = {"options": {"enableMenu": False}, "loader": {"load": []}}

_BLOB_URL = f"{make_nav.repo_url()}/blob/{make_nav.release()}"  # where links to files that are not pages go
html_theme = "sphinx_book_theme"
html_title = "Federated learning that actually runs"
html_sourcelink_suffix = ""  # the download button gives the .ipynb itself
html_copy_source = True
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": make_nav.repo_url(),
    "repository_branch": make_nav.release(),  # the release the Colab badges and setup cells use
    "path_to_docs": "",
    "use_download_button": True,
    "use_repository_button": True,
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
}


def _exclude(app, config) -> None:
    """Exclude every top-level folder of the source but docs/ and notebooks/ (Sphinx then never walks them)."""
    srcdir = Path(app.srcdir)
    config.exclude_patterns = sorted(
        p.name for p in srcdir.iterdir() if p.is_dir() and p.name not in ("docs", "notebooks")
    )


def _source_read(app, docname: str, source: list[str]) -> None:
    """Fold checks and solutions, send repository links that are not pages to GitHub, and give the README the TOC."""
    srcdir = Path(app.srcdir)
    path = Path(app.env.doc2path(docname))
    if path.suffix == ".ipynb":
        nb = site.fold_notebook(json.loads(source[0]))
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown":
                text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                cell["source"] = site.rewrite_links(text, srcdir, docname + ".ipynb", _BLOB_URL)
        source[0] = json.dumps(nb)
        return
    text = site.rewrite_links(source[0], srcdir, docname + ".md", _BLOB_URL)
    if docname == root_doc:
        text += site.toctree(srcdir, make_nav.TRACKS)
    source[0] = text


def setup(app: Any) -> None:
    """Sphinx's hook for this configuration: exclude the non-page folders, and fold and relink each page as read."""
    app.connect("config-inited", _exclude)
    app.connect("source-read", _source_read)
