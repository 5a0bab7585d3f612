"""Start the apps the README names (JupyterLab, TensorBoard) as a user would, and always clean up after them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Optional, Sequence

import psutil

ROOT = Path(__file__).resolve().parents[1]


def readme_command(*words: str) -> list[str]:
    """`uv run WORDS...` as the README writes it; the venv's own script where uv is not installed (the pip path)."""
    uv = shutil.which("uv")
    if uv:
        return [uv, "run", *words]
    return [str(Path(sys.executable).parent / words[0]), *words[1:]]


def jupyter_lab_command(port: int, token: str, root_dir: Path = ROOT) -> list[str]:
    """The README's `uv run jupyter lab`, on one loopback port with a known token and no browser."""
    command = readme_command("jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                             "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={root_dir}")
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
def running(command: Sequence[str], log: Path, env: Optional[dict] = None) -> Iterator[subprocess.Popen]:
    """Run `command` in its own session with output to `log`; on exit stop it and assert nothing of it is left."""
    with open(log, "wb") as out:
        process = subprocess.Popen(list(command), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                   env=env, start_new_session=True)
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


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []
