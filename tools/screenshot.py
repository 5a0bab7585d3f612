"""What the README's screenshot shows: a digest of notebook 01's cell sources, kept in the PNG it describes.

tests/test_browser.py writes the screenshot from a Run All of notebook 01 in JupyterLab and records, in a text chunk
of the PNG, the digest of the notebook's cell sources it ran (`record`); tests/test_screenshot.py fails when the
notebook's sources no longer have that digest, naming `COMMAND`, which renews the screenshot.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_federated_averaging_quickstart.ipynb"
SCREENSHOT = ROOT / "docs" / "jupyterlab.png"
COMMAND = "FL_SCREENSHOT=docs/jupyterlab.png uv run pytest tests/test_browser.py"
KEY = "fl-tutorials:notebook-sources"  # the PNG text chunk's keyword
# The cells tools/make_nav.py writes from the release and the neighbours (badge, Colab setup, footer) are left out:
# a new release or a new notebook changes them, not what the screenshot shows of the lesson.
GENERATED_TAGS = {"nav-badge", "colab-setup", "nav-footer"}


def sources_digest(notebook: Path = NOTEBOOK) -> str:
    """SHA-256 of the notebook's cell types and sources, in order (outputs, metadata and generated cells aside)."""
    cells = json.loads(notebook.read_text())["cells"]
    digest = hashlib.sha256()
    for cell in cells:
        if GENERATED_TAGS & set(cell.get("metadata", {}).get("tags", [])):
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        digest.update(json.dumps([cell["cell_type"], text]).encode())
    return digest.hexdigest()


def record(png: Path, digest: str) -> None:
    """Write `digest` into a text chunk of the PNG `png` (its pixels are kept as they are)."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(KEY, digest)
    with Image.open(png) as image:
        image.load()
        image.save(png, pnginfo=info)


def recorded(png: Path = SCREENSHOT) -> str | None:
    """The digest recorded in the PNG, or None if it has none."""
    from PIL import Image

    with Image.open(png) as image:
        return image.text.get(KEY)
