"""binder/: the Dockerfile Binder (mybinder.org) would build for this repository, from repo2docker itself.

`repo2docker --no-build --debug` prints the Dockerfile it generates without a container engine. Binder's own build
needs Docker Hub and conda-forge, which this machine cannot reach, so the image itself is not built here: what is
checked is that Binder's Python is 3.11 and that the lock's pins, and nothing else, are what it installs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools.repo import notebooks

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def generated() -> str:
    """The output of `repo2docker --no-build --debug` on this repository: its log and the generated Dockerfile."""
    repo2docker = Path(sys.executable).parent / "repo2docker"
    done = subprocess.run(
        [str(repo2docker), "--no-build", "--debug", str(ROOT)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout + done.stderr


def test_binder_builds_python_3_11_and_runs_our_postbuild(generated: str) -> None:
    assert "Building conda environment for python=3.11" in generated
    # repo2docker's locked conda environment for 3.11 (it escapes the file's path: "-2e" is ".", "-2d" is "-").
    assert re.search(r"environment-2epy-2d3-2e11-2dlinux-2d64-2elock-\w+ /tmp/env/environment\.lock", generated)
    assert "RUN ./binder/postBuild" in generated
    # Files in binder/ take over from the root's: nothing there may install another set of packages.
    assert sorted(p.name for p in (ROOT / "binder").iterdir()) == ["postBuild", "runtime.txt"]
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"


def test_binder_installs_exactly_the_lock() -> None:
    """postBuild installs requirements.txt with --no-deps; tests/test_requirements.py holds that file to uv.lock."""
    commands = [
        line
        for line in (ROOT / "binder" / "postBuild").read_text().splitlines()
        if line.strip() and not line.startswith(("#", "set "))
    ]
    assert commands == [
        "python -m pip install --no-cache-dir --no-deps -r requirements.txt",
        "python -m pip install --no-cache-dir --no-deps --editable .",
    ]


def test_every_notebook_fits_a_binder_session_on_the_sample() -> None:
    """Binder gives a session about 2 GB: each notebook's measured peak (kernel plus TFF's worker) stays under 2 GiB."""
    runs = json.loads((ROOT / "benchmarks" / "sample.json").read_text())  # written by tools/run_standin.py --sample
    paths = notebooks()
    assert sorted(runs) == [p.name for p in paths], "run `uv run python tools/run_standin.py --sample`"
    for path in paths:
        run = runs[path.name]
        assert run["passed"] and run["peak_gib"] < 2.0, (path.name, run["peak_gib"], run["error"])
