"""docs/USAGE.md, "The pip path": its four commands, run in a copy of the repo, give a JupyterLab whose kernel runs TFF.

This downloads the locked wheels from PyPI into a new venv (about 3 GB installed, 85 s on these machines).
"""

from __future__ import annotations

import re
import secrets
import shutil
import subprocess
from pathlib import Path

import portpicker
import pytest

from tests.apps import ROOT, jupyter_lab_command, lab_runs_code


def pip_path_commands() -> list[str]:
    """The pip-path block of docs/USAGE.md, line by line, as a user would type it."""
    readme = (ROOT / "docs" / "USAGE.md").read_text()
    block = re.search(r"## The pip path.*?```bash\n(.*?)```", readme, re.S)
    assert block, "docs/USAGE.md's pip-path block moved; update this test"
    return [re.sub(r"\s+#.*$", "", line).strip() for line in block[1].splitlines() if line.strip()]


def test_the_readmes_pip_path(tmp_path: Path) -> None:
    commands = pip_path_commands()
    assert commands[0].startswith("python3.11 -m venv .venv") and commands[-1] == "jupyter lab", commands
    if not shutil.which("python3.11"):
        pytest.skip("no python3.11 on PATH, which the README's pip path starts with")
    clone = tmp_path / "clone"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", "runs", "*.egg-info"))
    install = " && ".join(commands[:-1])
    done = subprocess.run(["bash", "-c", f"set -e; {install}"], cwd=clone, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    jupyter = clone / ".venv" / "bin" / "jupyter"
    port, token = portpicker.pick_unused_port(), secrets.token_hex(16)
    command = jupyter_lab_command(port, token, root_dir=clone, jupyter=jupyter)
    output = lab_runs_code(
        command,
        port,
        token,
        tmp_path / "lab.log",
        "import sys, helpers, tensorflow_federated as tff\n"
        "print('tff', tff.__version__, 'prefix', sys.prefix, 'helpers', helpers.__file__)",
        cwd=clone,
    )
    assert f"tff 0.87.0 prefix {clone / '.venv'} helpers {clone / 'helpers' / '__init__.py'}" in output
