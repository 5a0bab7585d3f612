"""The README's screenshot is of the current notebook 01 (tools/screenshot.py; no browser needed)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from tools import screenshot


def test_the_readme_screenshot_is_of_the_current_notebook_01() -> None:
    if os.environ.get("FL_SCREENSHOT"):
        pytest.skip("FL_SCREENSHOT is set: the browser test is renewing a screenshot")
    shown = screenshot.recorded()
    assert shown is not None, f"docs/jupyterlab.png records no notebook digest: renew it with `{screenshot.COMMAND}`"
    assert shown == screenshot.sources_digest(), (
        f"notebook 01 changed since docs/jupyterlab.png was taken: renew it with `{screenshot.COMMAND}`"
    )


def test_the_digest_follows_the_sources_not_outputs_or_the_generated_cells(tmp_path: Path) -> None:
    nb = json.loads(screenshot.NOTEBOOK.read_text())
    path = tmp_path / "01.ipynb"

    def digest_of(notebook: dict) -> str:
        path.write_text(json.dumps(notebook))
        return screenshot.sources_digest(path)

    before = digest_of(nb)
    assert before == screenshot.sources_digest()
    code = next(c for c in nb["cells"] if c["cell_type"] == "code" and c.get("outputs"))
    code["outputs"], code["execution_count"] = [], None
    badge = next(c for c in nb["cells"] if "nav-badge" in c["metadata"].get("tags", []))
    badge["source"] = "[![Open In Colab](badge of another release)](x)"
    assert digest_of(nb) == before, "outputs and the generated navigation do not change what the lesson shows"
    lesson = next(c for c in nb["cells"] if c["cell_type"] == "markdown" and not c["metadata"].get("tags"))
    lesson["source"] = lesson["source"] + ["\nOne more sentence."] if isinstance(lesson["source"], list) else "x"
    assert digest_of(nb) != before, "a change of the lesson's text is a change"


def test_record_keeps_the_pixels_and_adds_the_digest(tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    Image.new("RGB", (4, 3), (10, 200, 30)).save(png)
    assert screenshot.recorded(png) is None
    screenshot.record(png, "abc123")
    assert screenshot.recorded(png) == "abc123"
    with Image.open(png) as image:
        assert image.size == (4, 3) and image.getpixel((1, 1)) == (10, 200, 30)
