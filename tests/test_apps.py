"""The apps the README tells users to start: `uv run jupyter lab` and `uv run tensorboard`, started for real.

nbval runs the notebooks through jupyter_client, so it stays green while the app a user opens is broken (as it was
with packaging 22.0). These tests start the servers as the README does, talk to them over HTTP and the kernel's
websocket, and stop them, leaving no process behind.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import portpicker

from tests.apps import ROOT, jupyter_lab_command, lab_runs_code, readme_command, request, running, wait_for_http


def test_uv_run_jupyter_lab_serves_the_lab_and_runs_tff_in_a_kernel(tmp_path: Path) -> None:
    port, token = portpicker.pick_unused_port(), secrets.token_hex(16)
    output = lab_runs_code(
        jupyter_lab_command(port, token),
        port,
        token,
        tmp_path / "lab.log",
        "import sys, tensorflow_federated as tff\n"
        "print('python', sys.version_info[:2], 'tff', tff.__version__, 'prefix', sys.prefix)",
    )
    assert f"python (3, 11) tff 0.87.0 prefix {ROOT / '.venv'}" in output


def test_the_readmes_local_runtime_command_for_colab_admits_colab() -> None:
    """docs/COLAB.md: the server a Colab page connects to must answer Colab's origin (CORS)."""
    readme = (ROOT / "docs" / "COLAB.md").read_text()
    block = re.search(r"(uv run jupyter lab --no-browser --port=8888[^`]*?)\n\s*```", readme, re.S)
    assert block, "docs/COLAB.md's local-runtime command moved; update this test"
    words = shlex.split(block[1].replace("\\\n", " "))
    port, token = portpicker.pick_unused_port(), secrets.token_hex(16)
    words = [f"--port={port}" if w == "--port=8888" else w for w in words]
    command = readme_command(*words[2:]) + ["--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    with tempfile.TemporaryDirectory() as tmp, running(command, Path(tmp) / "lab.log") as process:
        wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", process, Path(tmp) / "lab.log")
        origin = "https://colab.research.google.com"
        _, _, headers = request(f"http://127.0.0.1:{port}/api/kernelspecs", token=token, headers={"Origin": origin})
        assert headers.get("Access-Control-Allow-Origin") == origin
        # A second server on the same port (port_retries=0) fails at once and says why.
        clash = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert clash.returncode != 0 and f"The port {port} is already in use" in clash.stdout + clash.stderr


def test_uv_run_tensorboard_serves_the_metrics_of_a_training_run(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    train = readme_command(
        "python",
        "-m",
        "helpers.program",
        "--rounds",
        "2",
        "--clients-per-round",
        "2",
        "--checkpoint-dir",
        str(tmp_path / "run"),
        "--metrics-dir",
        str(metrics),
        "--no-progress",
    )
    done = subprocess.run(train, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    port = portpicker.pick_unused_port()
    command = readme_command(
        "tensorboard", "--logdir", str(metrics / "tensorboard"), "--host", "127.0.0.1", "--port", str(port)
    )
    with running(command, tmp_path / "tensorboard.log") as process:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/data/plugins_listing", process, tmp_path / "tensorboard.log")
        _, body, _ = request(f"{base}/data/plugin/scalars/tags")
        tags = json.loads(body)
        assert tags, "TensorBoard found no runs"
        names = {tag for run in tags.values() for tag in run}
        loss = [tag for tag in names if tag.endswith("loss")]
        assert loss, f"no training loss among TensorBoard's scalars: {sorted(names)}"
        run = next(run for run, run_tags in tags.items() if loss[0] in run_tags)
        _, body, _ = request(
            f"{base}/data/plugin/scalars/scalars?run={urllib.parse.quote(run)}&tag={urllib.parse.quote(loss[0])}"
        )
        steps = [step for _, step, _ in json.loads(body)]
        assert steps == [1, 2], f"one loss point per round, got steps {steps}"


def test_jupyter_nbconvert_execute_runs_a_notebook_with_tff(tmp_path: Path) -> None:
    """The other Jupyter entry point a user may type: `uv run jupyter nbconvert --execute` (JupyterLab ships no
    `jupyter notebook` here)."""
    import nbformat

    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import tensorflow_federated as tff\nprint('tff', tff.__version__)")]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, tmp_path / "check.ipynb")
    done = subprocess.run(
        readme_command(
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--output",
            "executed.ipynb",
            str(tmp_path / "check.ipynb"),
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert "tff 0.87.0" in "".join(o.get("text", "") for o in executed.cells[0].outputs)
