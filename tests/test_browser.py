"""JupyterLab in a real browser: open notebook 01, Run All Cells, and check what the learner sees.

Playwright for Python drives the system's Chromium (Debian's `chromium` package; `.ci/run` installs it), because
Playwright's own browser download is not reachable from these machines. Set `FL_SCREENSHOT=path.png` to keep the
screenshot (the README's `docs/jupyterlab.png` comes from `FL_SCREENSHOT=docs/jupyterlab.png`); the PNG records the
digest of the notebook's sources it shows, which tests/test_screenshot.py compares with the current notebook's.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from pathlib import Path

import portpicker
import pytest

from tests.apps import ROOT, chromium_path, jupyter_lab_command, running, wait_for_http
from tools import screenshot

NOTEBOOK = "01_federated_averaging_quickstart.ipynb"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_TIMEOUT_S = 600

KERNEL_IDLE = "Python 3 (ipykernel) | Idle"  # JupyterLab's status bar once the notebook's kernel is idle


def _chromium() -> str:
    path = chromium_path()
    if not path:
        pytest.skip("no Chromium on PATH: install it with `apt-get install -y chromium` (.ci/run does)")
    return path


def test_run_all_cells_of_notebook_01_in_jupyterlab(tmp_path: Path) -> None:
    browser_path = _chromium()
    from playwright.sync_api import sync_playwright

    # The notebook runs from a copy, so JupyterLab's autosave cannot rewrite the committed outputs.
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, tmp_path / "notebooks" / NOTEBOOK)
    sources = screenshot.sources_digest(tmp_path / "notebooks" / NOTEBOOK)
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Render every cell (no virtual scrolling), so the whole notebook is on the page to be checked; no news pop-up.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    (settings.parent / "apputils-extension").mkdir()
    (settings.parent / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false"})
    )
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
    }
    port, token = portpicker.pick_unused_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "lab.log"
    started = time.monotonic()
    with running(jupyter_lab_command(port, token, root_dir=tmp_path), log, env=env) as process:
        wait_for_http(f"{base}/api/status?token={token}", process, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, headless=True, args=CHROMIUM_FLAGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.goto(f"{base}/lab/tree/notebooks/{NOTEBOOK}?token={token}", timeout=120_000)
                page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
                _accept_kernel_dialog(page)
                page.get_by_text(KERNEL_IDLE).wait_for(timeout=120_000)
                # The committed outputs come with the file: clear them, so that everything checked below is new.
                _menu(page, "Edit", "Clear Outputs of All Cells")
                prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
                assert page.locator(".jp-OutputArea-output").count() == 0
                assert {t.strip() for t in prompts.all_inner_texts()} == {"[ ]:"}
                _menu(page, "Run", "Run All Cells")
                _wait_until_all_cells_ran(page, log)
                text = page.locator(".jp-Notebook").inner_text()
                assert page.locator(".jp-RenderedMarkdown h1", has_text="Federated averaging quickstart").count() == 1
                images = page.locator(".jp-OutputArea-output img")
                assert images.count() >= 2, "the digit grid and the training curves are plotted"
                match = re.search(
                    r"test accuracy after 50 rounds over 100 test clients \(1000 examples\): (0\.\d+)", text
                )
                assert match and float(match[1]) >= 0.8, "the final accuracy line is on the page"
                assert "Traceback" not in text and "Error" not in _error_outputs(page)
                # The README's screenshot: the progress bar and the training curves, in view.
                curves = page.locator(".jp-CodeCell", has_text="plot_history(history)").first
                curves.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
                shot = Path(os.environ.get("FL_SCREENSHOT", str(tmp_path / "jupyterlab.png")))
                page.screenshot(path=str(shot))
                # What it shows: the digest of the sources that ran (tests/test_screenshot.py compares it with 01's).
                screenshot.record(shot, sources)
                # Run All from a fresh kernel numbers the code cells 1, 2, 3, ... in order; a stop leaves gaps. The
                # collapsed checks and solutions ran too: expanded, their prompts join the count.
                _menu(page, "View", "Expand All Code")
                assert [t.strip() for t in prompts.all_inner_texts()] == [
                    f"[{i}]:" for i in range(1, prompts.count() + 1)
                ]
                assert prompts.count() == _code_cells(ROOT / "notebooks" / NOTEBOOK), "every code cell ran"
            finally:
                browser.close()
    print(f"JupyterLab browser run of notebook 01: {time.monotonic() - started:.0f} s")


def _accept_kernel_dialog(page) -> None:
    """Choose the notebook's own kernel if JupyterLab asks which kernel to start.

    Waits for whichever comes first, the dialog or the idle kernel (then there is no dialog to answer), instead of
    giving the dialog a fixed time to appear.
    """
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    dialog.or_(page.get_by_text(KERNEL_IDLE)).first.wait_for(timeout=120_000)
    if dialog.count():
        dialog.get_by_role("button", name="Select").click()


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def _code_cells(path: Path) -> int:
    """How many code cells the notebook file holds."""
    return sum(cell["cell_type"] == "code" for cell in json.loads(path.read_text())["cells"])


def _wait_until_all_cells_ran(page, log: Path) -> None:
    """Wait until every code cell shows an execution count and the kernel is idle (Run All stops at an error)."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    while time.monotonic() < deadline:
        texts = prompts.all_inner_texts()
        if texts and all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in texts):
            if page.get_by_text(KERNEL_IDLE).count():
                return
        if any("*" in t for t in texts) or not texts:
            time.sleep(2)
            continue
        # No cell is running but some never ran: Run All stopped at a failing cell.
        time.sleep(5)
        texts = prompts.all_inner_texts()
        if not any("*" in t for t in texts) and not all(re.fullmatch(r"\[\d+\]:", t.strip()) for t in texts):
            raise AssertionError(f"Run All stopped early; prompts {texts}; errors: {_error_outputs(page)[:3000]}")
    raise AssertionError(f"notebook did not finish within {RUN_TIMEOUT_S} s; prompts {prompts.all_inner_texts()}")


def _error_outputs(page) -> str:
    return "\n".join(
        page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").all_inner_texts()
        + [t for t in page.locator(".jp-OutputArea-output").all_inner_texts() if "Traceback" in t]
    )
