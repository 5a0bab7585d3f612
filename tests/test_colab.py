"""Play Colab: a lesson, run through its real setup cell in a kernel with Colab's own kernel-side packages.

For each runtime we build a venv with Colab's Python and the kernel-side versions from Colab's published `pip
freeze` snapshots (copied below), install a stand-in `google.colab` (detection is `"google.colab" in sys.modules`),
and start that kernel as Colab does. Then a notebook's code cells run in it in order, the setup cell first: all of
notebook 02, the smallest lesson that starts TFF's private runtime, runs a federated computation and shows text and
PNG figures, on both runtimes, because each relays through its own jupyter_client (7.4.9 on 3.13, 6.1.12 on 3.11).
One cell more runs the lessons' progress bar (`helpers.plots.progress`, tqdm's widget in Jupyter), the one kind of
output 02 lacks, so that no lesson is run only for its bar; notebook 01, which trains under that bar, runs in the
browser test (in nbval where there is no Chromium). Only the network steps are swapped for local
equivalents: `git clone` copies this checkout (a fake `git` on PATH), `uv python install` becomes a local Python
3.11 (`FL_COLAB_PYTHON`), and `uv sync` runs offline from uv's cache (`UV_OFFLINE=1`). The test checks that text,
PNG plots and a failing cell's error reach the Colab-side kernel, that an interrupt stops a running cell, and that
no Colab-side package changed version.

Python 3.13 and 3.11 are looked up with `uv python find`, then in pyenv's versions (`pyenv root`); where one is
missing, its case is skipped, naming it.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from colab_bridge.relay import WIDGET_MIME
from helpers.logs import NOISE
from tests.apps import SMALL_LESSON as LESSON  # all of it, on each runtime (see the module docstring)

ROOT = Path(__file__).resolve().parents[1]
# The lessons' progress bar, as notebook 01's training loop runs it; through the relay it must arrive as tqdm's text.
PROGRESS_CELL = """from helpers.plots import progress

for _ in progress(range(3), desc="relayed bar"):
    pass
"""

# Colab's kernel side, from its published `pip freeze` snapshots (2025.07 is Python 3.11.13; the 2026.08 default
# runtime is Python 3.13). jedi is not in either snapshot; IPython 7.34 runs without it.
_COMMON = [
    "ipykernel==6.17.1",
    "ipython==7.34.0",
    "pyzmq==26.2.1",
    "traitlets==5.7.1",
    "nest-asyncio==1.6.0",
    "debugpy==1.8.15",
    "psutil==5.9.5",
    "python-dateutil==2.9.0.post0",
    "entrypoints==0.4",
    "decorator==4.4.2",
    "pickleshare==0.7.5",
    "backcall==0.2.0",
    "pexpect==4.9.0",
    "ptyprocess==0.7.0",
    "six==1.17.0",
    "setuptools==75.2.0",
    "ipython-genutils==0.2.0",
]
COLAB_RUNTIMES = {
    "2026.08-py3.13": (
        "3.13",
        _COMMON
        + [
            "jupyter_client==7.4.9",
            "jupyter_core==5.9.1",
            "tornado==6.5.7",
            "matplotlib-inline==0.2.2",
            "packaging==26.3",
            "prompt_toolkit==3.0.53",
            "wcwidth==0.8.2",
            "Pygments==2.21.0",
            "platformdirs==4.11.3",
            "parso==0.8.7",
        ],
    ),
    "2025.07-py3.11": (
        "3.11",
        _COMMON
        + [
            "jupyter-client==6.1.12",
            "jupyter_core==5.8.1",
            "tornado==6.4.2",
            "matplotlib-inline==0.1.7",
            "packaging==25.0",
            "prompt_toolkit==3.0.51",
            "wcwidth==0.2.13",
            "Pygments==2.19.2",
            "platformdirs==4.3.8",
            "parso==0.8.4",
        ],
    ),
}
FAKE_GIT = """#!{python}
# Stand-in for `git clone URL DEST` on Colab: copies the checkout under test instead of fetching it.
import shutil, sys
shutil.copytree({root!r}, sys.argv[-1], ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "runs",
                                                                        "*.egg-info", ".colab-tools"))
"""


def find_python(version: str) -> str | None:
    """A real interpreter for `version` (not a pyenv shim): `uv python find`, else pyenv's versions folder."""
    uv = shutil.which("uv")
    if uv:
        found = subprocess.run([uv, "python", "find", "--no-project", version], capture_output=True, text=True)
        path = found.stdout.strip()
        if found.returncode == 0 and path and ".pyenv/shims" not in path and _version_of(path) == version:
            return path
    pyenv_root = (
        subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        if shutil.which("pyenv")
        else os.path.expanduser("~/.pyenv")
    )
    for candidate in sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True):
        if _version_of(candidate) == version:
            return candidate
    return None


def _version_of(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
    )
    return done.stdout.strip()


def _freeze(python: Path) -> list[str]:
    return subprocess.run(
        [str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True, check=True
    ).stdout.splitlines()


def build_colab_side(runtime: str, where: Path) -> tuple[Path, Path]:
    """Colab's kernel side for `runtime` in a venv, with a stand-in google.colab; returns (python, kernel specs)."""
    version, packages = COLAB_RUNTIMES[runtime]
    base = find_python(version)
    if base is None:
        pytest.skip(f"no Python {version} found (uv python find, pyenv versions) to play Colab {runtime}")
    venv = where / "colab-venv"
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", *packages], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-3000:]
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "google" / "colab").mkdir(parents=True)
    (site / "google" / "colab" / "__init__.py").write_text('"""Stand-in for Colab\'s google.colab package."""\n')
    specs = where / "kernels"
    (specs / "colab").mkdir(parents=True)
    (specs / "colab" / "kernel.json").write_text(
        json.dumps(
            {
                # Colab's kernel has google.colab imported before the first cell runs.
                "argv": [
                    str(python),
                    "-m",
                    "ipykernel_launcher",
                    "-f",
                    "{connection_file}",
                    "--IPKernelApp.exec_lines=import google.colab",
                ],
                "display_name": f"Colab {runtime} stand-in",
                "language": "python",
            }
        )
    )
    return python, specs


class Kernel:
    """The Colab-side kernel, driven with the project's jupyter_client as Colab's page would drive it."""

    def __init__(self, specs: Path, cwd: Path, env: dict) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        self.manager = KernelManager(
            kernel_name="colab", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)])
        )
        self.manager.start_kernel(cwd=str(cwd), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=120)

    def run(self, code: str, timeout: float = 600) -> tuple[dict, list[dict]]:
        """Execute `code`; return the execute_reply content and the iopub messages of the cell."""
        messages: list[dict] = []
        reply = self.client.execute_interactive(code, timeout=timeout, output_hook=messages.append, allow_stdin=False)
        return reply["content"], [m for m in messages if m["msg_type"] != "status"]

    def stop(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=False)


def _text(messages: list[dict]) -> str:
    return "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")


def _pngs(messages: list[dict]) -> int:
    return sum(
        "image/png" in m["content"].get("data", {})
        for m in messages
        if m["msg_type"] in ("display_data", "execute_result")
    )


@pytest.mark.parametrize("runtime", list(COLAB_RUNTIMES))
def test_a_lesson_runs_on_colab_through_its_setup_cell(runtime: str, tmp_path: Path) -> None:
    """A lesson's cells relay every kind of output it has (see the module docstring); each runtime runs one because
    the relay's client is that runtime's own jupyter_client."""
    import nbformat

    python, specs = build_colab_side(runtime, tmp_path)
    local_311 = find_python("3.11")
    if local_311 is None:
        pytest.skip("no local Python 3.11 to stand in for `uv python install 3.11`")
    assert shutil.which("uv"), "uv is on PATH in CI (.ci/run installs it); the setup would otherwise fetch it"
    frozen_before = _freeze(python)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "git").write_text(FAKE_GIT.format(python=sys.executable, root=str(ROOT)))
    (bin_dir / "git").chmod(stat.S_IRWXU)
    content = tmp_path / "content"  # Colab's working directory, /content
    content.mkdir()
    # Colab's kernel has none of these: this machine's PYTHONDONTWRITEBYTECODE would make the 3.11 kernel compile
    # TensorFlow's modules again at every start, where Colab's keeps them after the first.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    env.update(PATH=f"{bin_dir}:{os.environ['PATH']}", FL_COLAB_PYTHON=local_311, UV_OFFLINE="1")
    started = time.monotonic()
    kernel = Kernel(specs, content, env)
    try:
        reply, messages = kernel.run("import sys; print(sys.version_info[:2], 'google.colab' in sys.modules)")
        assert f"({runtime[-4]}, {runtime[-2:]}) True" in _text(messages)

        sources = [c.source for c in nbformat.read(ROOT / LESSON, as_version=4).cells if c.cell_type == "code"]
        texts, pngs = [], 0
        for index, source in enumerate(sources):
            reply, messages = kernel.run(source)
            assert reply["status"] == "ok", (
                f"cell {index}: {reply.get('ename')}: {reply.get('evalue')}\n"
                + "\n".join(m["content"].get("text", "") for m in messages)[-3000:]
            )
            texts.append(_text(messages))
            pngs += _pngs(messages)
            if index == 0:
                setup_seconds = time.monotonic() - started
        total_seconds = time.monotonic() - started
        output = "".join(texts)
        noisy = [line for line in output.splitlines() if re.search(f"{NOISE.pattern}|Kernel is running over TCP", line)]
        assert not noisy, f"library noise relayed to Colab: {noisy[:3]}"
        assert "Ready after" in texts[0], texts[0]
        assert "TensorFlow 2.14.1, TensorFlow Federated 0.87.0" in output and "Python 3.11" in output
        assert "Data: offline sample" in output
        assert "b'Hello, federated world!'" in output, "TFF's private runtime ran a computation in the 3.11 kernel"
        assert pngs >= 2, "the plots arrive as PNG displays"
        reply, messages = kernel.run(PROGRESS_CELL)
        assert reply["status"] == "ok", reply
        assert "relayed bar: 100%" in _text(messages), "the progress bar falls back to text and is relayed"
        assert not any(WIDGET_MIME in m["content"].get("data", {}) for m in messages)

        # A failing cell fails in Colab too, with the remote exception's name and traceback.
        reply, messages = kernel.run("def broken():\n    raise ValueError('raised in the 3.11 kernel')\nbroken()")
        assert reply["status"] == "error" and reply["ename"] == "ValueError", reply
        shown = "".join("\n".join(m["content"]["traceback"]) for m in messages if m["msg_type"] == "error")
        assert "raised in the 3.11 kernel" in shown and "broken()" in shown
        # Jupyter's stop-on-error aborts a request that reaches the kernel just after a failed cell (see below): one
        # sent at once was aborted in 1 of 4 CI runs, and its interrupt then found no cell running.
        time.sleep(2)

        # Colab's stop button: an interrupt of the Colab-side kernel stops the cell running in the 3.11 kernel.
        timer = threading.Timer(5, kernel.manager.interrupt_kernel)
        timer.start()
        began = time.monotonic()
        reply, _ = kernel.run("import time\nfor _ in range(600):\n    time.sleep(0.1)\nfinished = True", timeout=120)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", reply
        assert time.monotonic() - began < 30
        # Jupyter's stop-on-error: a kernel aborts requests that reach it just after a failed cell, as Colab's does
        # for the rest of a "Run all". Give it a moment, as a user clicking the next cell would.
        time.sleep(2)
        reply, messages = kernel.run(
            "import sys\nprint(sys.version_info[:2], len(emnist_train.client_ids), 'finished' in dir())"
        )
        assert reply["status"] == "ok" and "(3, 11) 100 False" in _text(messages), (
            "state kept, interrupted cell drained"
        )
    finally:
        kernel.stop()
    assert _freeze(python) == frozen_before, "no Colab-side package may change"
    print(
        f"Colab {runtime}: kernel start and setup cell {setup_seconds:.0f} s, "
        f"with all of {Path(LESSON).stem[:2]} {total_seconds:.0f} s"
    )
