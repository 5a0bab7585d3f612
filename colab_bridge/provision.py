"""On Colab: build this checkout's Python 3.11 environment with uv from uv.lock, then relay every later cell to it.

Colab's own Python and packages stay as they are: uv comes from PATH or is unpacked into the checkout
(`pip install --target`, which leaves site-packages alone), Python 3.11 is uv's own build, and the environment is
the checkout's `.venv`, exactly as `uv run` makes it locally.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

CHECKOUT = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
# Variables of Colab's kernel that must not leak into uv or the 3.11 environment.
_DROP = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT")


def _env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in _DROP}


def _run(command: List[str], cwd: Path) -> str:
    """Run a command, returning its output; raise with the output's tail and the docs/COLAB.md pointer if it fails."""
    done = subprocess.run(
        command, cwd=str(cwd), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(command)}` failed with exit code {done.returncode}:\n{done.stdout[-3000:]}\n"
            "See docs/COLAB.md for a local runtime, which needs none of this."
        )
    return done.stdout


def find_uv(checkout: Path = CHECKOUT) -> str:
    """uv from PATH, else uv unpacked into the checkout with `pip install --target` (Colab's packages untouched)."""
    found = shutil.which("uv")
    if found:
        return found
    target = checkout / ".colab-tools"
    uv = target / "bin" / "uv"
    if not uv.exists():
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target), "uv"], checkout)
    return str(uv)


def find_python(uv: str, checkout: Path = CHECKOUT) -> str:
    """The Python 3.11 to build the environment from: $FL_COLAB_PYTHON, else one that uv installs."""
    chosen = os.environ.get("FL_COLAB_PYTHON")
    if chosen:
        return chosen
    _run([uv, "python", "install", PYTHON], checkout)
    return PYTHON


def provision(checkout: Path = CHECKOUT, python: Optional[str] = None) -> None:
    """Build `checkout`/.venv from uv.lock with Python 3.11 and load the relay into this IPython kernel."""
    if sys.platform != "linux" or platform.machine() != "x86_64":
        raise RuntimeError(
            f"TensorFlow Federated 0.87 has wheels only for Linux x86_64, not {sys.platform} "
            f"{platform.machine()}. Use a local runtime instead (docs/COLAB.md)."
        )
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("provision() loads an IPython extension, so it must run inside a notebook kernel.")
    started = time.monotonic()
    uv = find_uv(checkout)
    python = python or find_python(uv, checkout)
    print(f"Building the Python {PYTHON} environment from uv.lock (the first time takes a few minutes)...", flush=True)
    # --no-dev: the maintainers' tools (pyproject.toml's dev group) are not needed to run the notebooks.
    _run([uv, "sync", "--locked", "--no-dev", "--python", python], checkout)
    shell.extension_manager.load_extension("colab_bridge.relay")
    print(
        f"Ready after {time.monotonic() - started:.0f} s. From the next cell on, every cell runs in Python {PYTHON} "
        "with TensorFlow Federated 0.87, in the checkout's notebooks/ folder. This kernel keeps its own Python; "
        "`%unload_ext colab_bridge.relay` switches back to it.",
        flush=True,
    )
