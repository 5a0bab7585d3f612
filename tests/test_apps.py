"""The apps the README tells users to start: `uv run jupyter lab` and `uv run tensorboard`, started for real.

nbval runs the notebooks through jupyter_client, so it stays green while the app a user opens is broken (as it was
with packaging 22.0). These tests start the servers as the README does, talk to them over HTTP and the kernel's
websocket, and stop them, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import portpicker
import pytest

from tests.apps import ROOT, jupyter_lab_command, readme_command, running, wait_for_http


def _request(url: str, method: str = "GET", body: dict | None = None, token: str = "") -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


async def _execute_over_websocket(url: str, code: str, timeout: float = 180.0) -> tuple[str, str]:
    """Run `code` in a kernel through the server's websocket, as the JupyterLab page does; return (stdout, status)."""
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(url)
    msg_id = uuid.uuid4().hex
    connection.write_message(json.dumps({
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }))
    stdout, status = [], ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not status:
        message = await asyncio.wait_for(connection.read_message(), deadline - loop.time())
        assert message is not None, "the kernel websocket closed"
        message = json.loads(message)
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind = message["header"]["msg_type"]
        if kind == "stream":
            stdout.append(message["content"]["text"])
        elif kind == "error":
            stdout.append("\n".join(message["content"]["traceback"]))
        elif kind == "execute_reply":
            status = message["content"]["status"]
    connection.close()
    return "".join(stdout), status


def test_uv_run_jupyter_lab_serves_the_lab_and_runs_tff_in_a_kernel(tmp_path: Path) -> None:
    port, token = portpicker.pick_unused_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    with running(jupyter_lab_command(port, token), tmp_path / "lab.log") as process:
        wait_for_http(f"{base}/api/status?token={token}", process, tmp_path / "lab.log")
        status, page = _request(f"{base}/lab?token={token}", token=token)
        assert status == 200 and b"JupyterLab" in page
        status, _ = _request(f"{base}/api/contents/notebooks/01_federated_averaging_quickstart.ipynb", token=token)
        assert status == 200, "the server serves the repo's notebooks"
        status, body = _request(f"{base}/api/kernels", "POST", {"name": "python3"}, token=token)
        kernel = json.loads(body)["id"]
        output, reply = asyncio.run(_execute_over_websocket(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?token={token}",
            "import sys, tensorflow_federated as tff\nprint('python', sys.version_info[:2], 'tff', tff.__version__)"))
        assert reply == "ok", output
        assert "python (3, 11) tff 0.87.0" in output
        status, _ = _request(f"{base}/api/kernels/{kernel}", "DELETE", token=token)
        assert status == 204


def test_uv_run_tensorboard_serves_the_metrics_of_a_training_run(tmp_path: Path) -> None:
    metrics = tmp_path / "metrics"
    train = readme_command("python", "-m", "helpers.train", "--rounds", "2", "--clients-per-round", "2",
                           "--checkpoint-dir", str(tmp_path / "run"), "--metrics-dir", str(metrics), "--no-progress")
    done = subprocess.run(train, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    port = portpicker.pick_unused_port()
    command = readme_command("tensorboard", "--logdir", str(metrics / "tensorboard"), "--host", "127.0.0.1",
                             "--port", str(port))
    with running(command, tmp_path / "tensorboard.log") as process:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/data/plugins_listing", process, tmp_path / "tensorboard.log")
        _, body = _request(f"{base}/data/plugin/scalars/tags")
        tags = json.loads(body)
        assert tags, "TensorBoard found no runs"
        names = {tag for run in tags.values() for tag in run}
        loss = [tag for tag in names if tag.endswith("loss")]
        assert loss, f"no training loss among TensorBoard's scalars: {sorted(names)}"
        run = next(run for run, run_tags in tags.items() if loss[0] in run_tags)
        _, body = _request(f"{base}/data/plugin/scalars/scalars?run={urllib.parse.quote(run)}&tag={urllib.parse.quote(loss[0])}")
        steps = [step for _, step, _ in json.loads(body)]
        assert steps == [1, 2], f"one loss point per round, got steps {steps}"
