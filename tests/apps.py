"""Start the apps the README names (JupyterLab, TensorBoard) as a user would, and always clean up after them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Iterator, Optional, Sequence

import psutil

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = "notebooks/01_federated_averaging_quickstart.ipynb"
# The smallest lesson that starts TFF's private runtime, runs a federated computation, loads the sample and plots: what
# the integration tests run where they need "a lesson runs here" (the Colab relay, the learner container).
SMALL_LESSON = "notebooks/02_federated_data.ipynb"


def chromium_path() -> Optional[str]:
    """The Chromium that tests/test_browser.py drives, or None where none is on PATH."""
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def readme_command(*words: str) -> list[str]:
    """`uv run WORDS...` as the README writes it; the venv's own script where uv is not installed (the pip path)."""
    uv = shutil.which("uv")
    if uv:
        return [uv, "run", *words]
    return [str(Path(sys.executable).parent / words[0]), *words[1:]]


def jupyter_lab_command(port: int, token: str, root_dir: Path = ROOT, jupyter: Optional[Path] = None) -> list[str]:
    """The README's `uv run jupyter lab` (or `jupyter`'s `lab`), on one loopback port with a known token, no browser."""
    start = [str(jupyter), "lab"] if jupyter is not None else readme_command("jupyter", "lab")
    command = start + [
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root_dir}",
    ]
    if os.geteuid() == 0:  # Jupyter Server refuses root without it; CI and these machines run as root
        command.append("--allow-root")
    return command


def wait_for_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 120.0) -> bytes:
    """GET `url` until it answers 200; fail with the app's log if it exits or does not answer in `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the app exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return response.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def running(
    command: Sequence[str], log: Path, env: Optional[dict] = None, cwd: Path = ROOT
) -> Iterator[subprocess.Popen]:
    """Run `command` in its own session with output to `log`; on exit stop it and assert nothing of it is left."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            list(command), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    try:
        yield process
    finally:
        group = process.pid
        members = _descendants(process.pid)  # kernels run in sessions of their own, so not by process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            process.wait(timeout=10)
        _, alive = psutil.wait_procs(members, timeout=15)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        assert not alive, f"left behind: {[p.pid for p in alive]}"


def request(
    url: str, method: str = "GET", body: dict | None = None, token: str = "", headers: dict | None = None
) -> tuple[int, bytes, dict]:
    """One HTTP request with Jupyter's token header; returns (status, body, headers)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Authorization": f"token {token}", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read(), dict(response.headers)


async def _execute_over_websocket(url: str, code: str, timeout: float = 180.0) -> tuple[str, str]:
    """Run `code` in a kernel through the server's websocket, as the JupyterLab page does; return (stdout, status)."""
    from tornado.websocket import websocket_connect

    connection = await websocket_connect(url)
    msg_id = uuid.uuid4().hex
    connection.write_message(
        json.dumps(
            {
                "header": {
                    "msg_id": msg_id,
                    "msg_type": "execute_request",
                    "username": "test",
                    "session": uuid.uuid4().hex,
                    "version": "5.3",
                    "date": "",
                },
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": {
                    "code": code,
                    "silent": False,
                    "store_history": True,
                    "user_expressions": {},
                    "allow_stdin": False,
                    "stop_on_error": True,
                },
            }
        )
    )
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


def lab_runs_code(command: Sequence[str], port: int, token: str, log: Path, code: str, cwd: Path = ROOT) -> str:
    """Start JupyterLab with `command` in `cwd`, check /lab, run `code` in a new kernel over its websocket, stop all."""
    base = f"http://127.0.0.1:{port}"
    with running(command, log, cwd=cwd) as process:
        wait_for_http(f"{base}/api/status?token={token}", process, log)
        status, page, _ = request(f"{base}/lab?token={token}", token=token)
        assert status == 200 and b"JupyterLab" in page
        status, _, _ = request(f"{base}/api/contents/{QUICKSTART}", token=token)
        assert status == 200, "the server serves the repo's notebooks"
        status, body, _ = request(f"{base}/api/kernels", "POST", {"name": "python3"}, token=token)
        kernel = json.loads(body)["id"]
        output, reply = asyncio.run(
            _execute_over_websocket(f"ws://127.0.0.1:{port}/api/kernels/{kernel}/channels?token={token}", code)
        )
        assert reply == "ok", output
        status, _, _ = request(f"{base}/api/kernels/{kernel}", "DELETE", token=token)
        assert status == 204
    return output


def lab_runs_notebook(base: str, token: str, path: str, cell_timeout: float = 600.0) -> list[str]:
    """Open `path` on the server at `base` as JupyterLab does (a session: the kernel starts in the notebook's folder),
    run its code cells in order over the kernel's websocket, delete the session; return each cell's output.

    Fails at the first cell whose reply is not "ok", with that cell's output, as Run All Cells stops there.
    """
    _, body, _ = request(f"{base}/api/contents/{path}", token=token)
    cells = [
        c["source"] if isinstance(c["source"], str) else "".join(c["source"])
        for c in json.loads(body)["content"]["cells"]
        if c["cell_type"] == "code"
    ]
    _, body, _ = request(
        f"{base}/api/sessions",
        "POST",
        {"path": path, "type": "notebook", "name": "", "kernel": {"name": "python3"}},
        token=token,
    )
    session = json.loads(body)
    ws = base.replace("http://", "ws://", 1) + f"/api/kernels/{session['kernel']['id']}/channels?token={token}"
    outputs = []
    try:
        for index, source in enumerate(cells):
            output, reply = asyncio.run(_execute_over_websocket(ws, source, timeout=cell_timeout))
            assert reply == "ok", f"code cell {index} of {path} failed:\n{output[-3000:]}"
            outputs.append(output)
    finally:
        request(f"{base}/api/sessions/{session['id']}", "DELETE", token=token)
    return outputs


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
