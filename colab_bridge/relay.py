"""An IPython extension that runs every following cell in this repo's Python 3.11 kernel and relays the results.

Colab's own kernel (Python 3.13 on today's default runtime) cannot import TensorFlow Federated 0.87. Loaded into
it, this extension starts an IPython kernel from the repo's `.venv` (Python 3.11, `uv sync --locked`) through
jupyter_client, and rewrites each later cell into one call that sends the cell there. It relays text streams, rich
displays (PNG plots, HTML tables), errors (a failed cell fails in Colab too, so "Run all" stops) and interrupts
(Colab's stop button interrupts the 3.11 kernel). Nothing of Colab's own Python is installed or upgraded.

It runs on Colab's kernel side as shipped: Python 3.11-3.13, IPython 7.34, ipykernel 6.17, jupyter_client 6.1 or
7.4, so it must not import `helpers` (which needs TFF) or anything newer. `%load_ext colab_bridge.relay` loads it
with the repo's defaults; `colab_bridge.provision.provision()` builds the environment first, then loads it.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

CHECKOUT = Path(__file__).resolve().parents[1]
KERNEL_NAME = "fl-tutorials-py311"
STARTUP_TIMEOUT_S = 180
# What the 3.11 kernel runs once at start: widget progress bars cannot be relayed (their state lives in comms that
# Colab's page would have to host), so tqdm.auto falls back to the text bar, which relays as a stream.
STARTUP_CODE = "import tqdm.auto, tqdm.std\ntqdm.auto.tqdm, tqdm.auto.trange = tqdm.std.tqdm, tqdm.std.trange\n"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

_relay: Optional["Relay"] = None


class RemoteCellError(Exception):
    """A cell failed in the Python 3.11 kernel; IPython shows the remote traceback via `_render_traceback_`."""

    def __init__(self, ename: str, evalue: str, traceback: List[str]) -> None:
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue, self.traceback = ename, evalue, traceback

    def _render_traceback_(self) -> List[str]:
        return self.traceback


def remote_error(content: Dict[str, Any]) -> RemoteCellError:
    """A RemoteCellError whose class name is the remote exception's, so Colab shows e.g. `ValueError`."""
    ename = str(content.get("ename", "Error"))
    cls = type(ename if ename.isidentifier() else "RemoteCellError", (RemoteCellError,), {})
    return cls(ename, str(content.get("evalue", "")), list(content.get("traceback", [])))


def write_kernel_spec(python: Path, directory: Path) -> Path:
    """A kernel spec for `python -m ipykernel_launcher`, in `directory`/kernels/KERNEL_NAME; returns `directory`."""
    spec_dir = directory / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3.11 (fl-tutorials)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return directory


class Relay:
    """One Python 3.11 kernel and the client that sends it cells and relays what comes back."""

    def __init__(self, python: Path, cwd: Path) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        if not python.exists():
            raise FileNotFoundError(
                f"{python} does not exist: run colab_bridge.provision.provision() first "
                "(it runs `uv sync --locked` in the checkout)."
            )
        # One owner-only (0700) folder holds the kernel spec and the kernel's sockets: the kernel listens on Unix
        # sockets there (jupyter_client's IPC transport), not on TCP ports that any local user could reach.
        self.folder = Path(tempfile.mkdtemp(prefix="fl-tutorials-kernel-"))
        spec_root = write_kernel_spec(python, self.folder)
        self.manager = KernelManager(
            kernel_name=KERNEL_NAME,
            transport="ipc",
            ip=str(self.folder / "kernel"),
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_root / "kernels")]),
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "MPLBACKEND", "JPY_PARENT_PID")
        }
        self.manager.start_kernel(cwd=str(cwd), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        try:
            self.client.wait_for_ready(timeout=STARTUP_TIMEOUT_S)
        except RuntimeError:
            self.shutdown()
            raise
        self.run_cell(STARTUP_CODE, relay_output=False)

    def run_cell(self, code: str, relay_output: bool = True) -> None:
        """Run `code` in the 3.11 kernel, relaying its output; raise its error, or KeyboardInterrupt if stopped."""
        msg_id = self.client.execute(code, store_history=relay_output, allow_stdin=False)
        try:
            reply = self._relay_until_done(msg_id, relay_output)
        except KeyboardInterrupt:
            self.manager.interrupt_kernel()
            self._relay_until_done(msg_id, relay_output=False)  # drain the interrupted cell before the next one
            raise
        if reply["status"] == "aborted":
            # The 3.11 kernel drops requests that arrive just after a failed cell (Jupyter's stop-on-error); the
            # cell did not run, so send it once more rather than report a success that printed nothing.
            time.sleep(0.5)
            msg_id = self.client.execute(code, store_history=relay_output, allow_stdin=False)
            reply = self._relay_until_done(msg_id, relay_output)
        if reply["status"] == "error":
            raise remote_error(reply)
        if reply["status"] != "ok":
            raise RuntimeError(
                f"The Python 3.11 kernel did not run this cell (status {reply['status']!r}); run it again."
            )

    def _relay_until_done(self, msg_id: str, relay_output: bool) -> Dict[str, Any]:
        """Relay iopub messages of `msg_id` until its execute_reply has come and the kernel went idle for it."""
        reply: Optional[Dict[str, Any]] = None
        idle = False
        while reply is None or not idle:
            if not self.manager.is_alive():
                raise RuntimeError("The Python 3.11 kernel died. Run the setup cell again to start a new one.")
            try:
                message = self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:  # nothing yet; any other error means a broken channel, and ends the relay
                message = None
            if message is not None and message["parent_header"].get("msg_id") == msg_id:
                kind = message["msg_type"]
                if kind == "status" and message["content"]["execution_state"] == "idle":
                    idle = True
                elif relay_output:
                    show(kind, message["content"])
            if reply is None:
                reply = self._shell_reply(msg_id)
        return reply

    def _shell_reply(self, msg_id: str) -> Optional[Dict[str, Any]]:
        """The execute_reply to `msg_id` if it has come; other replies (a stale kernel_info) are dropped."""
        while True:
            try:
                message = self.client.get_shell_msg(timeout=0)
            except queue.Empty:
                return None
            if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "execute_reply":
                return message["content"]

    def shutdown(self) -> None:
        """Stop the 3.11 kernel and its channels, and remove its folder (kernel spec and sockets)."""
        try:
            self.client.stop_channels()
        finally:
            try:
                self.manager.shutdown_kernel(now=True)
            finally:
                shutil.rmtree(self.folder, ignore_errors=True)


def show(kind: str, content: Dict[str, Any]) -> None:
    """Reproduce one iopub message of the 3.11 kernel in this (Colab's) kernel."""
    from IPython.display import clear_output, publish_display_data

    if kind == "stream":
        stream = sys.stderr if content.get("name") == "stderr" else sys.stdout
        stream.write(content.get("text", ""))
        stream.flush()
    elif kind in ("display_data", "update_display_data", "execute_result"):
        data = {k: v for k, v in content.get("data", {}).items() if k != WIDGET_MIME}
        if data:
            publish_display_data(
                data,
                metadata=content.get("metadata", {}),
                transient=content.get("transient"),
                **({"update": True} if kind == "update_display_data" else {}),
            )
    elif kind == "clear_output":
        clear_output(wait=bool(content.get("wait")))
    # "error" arrives again in the execute_reply and is raised there; comm_* (widgets) and others are not relayed.


def relay_transformer(lines: List[str]) -> List[str]:
    """IPython input transformer: turn a whole cell into one call that runs it in the 3.11 kernel."""
    code = "".join(lines)
    if not code.strip() or ("unload_ext" in code and "colab_bridge.relay" in code):
        return lines  # `%unload_ext colab_bridge.relay` must run here, in Colab's kernel
    return [f"__import__('colab_bridge.relay', fromlist=['run_cell']).run_cell({code!r})\n"]


def run_cell(code: str) -> None:
    """Run `code` in the current relay's kernel (what each transformed cell calls)."""
    if _relay is None:
        raise RuntimeError("The relay is not running: run the notebook's setup cell first.")
    _relay.run_cell(code)


def load_ipython_extension(shell: Any) -> None:
    """`%load_ext colab_bridge.relay`: start the 3.11 kernel from the checkout's .venv and relay every later cell."""
    global _relay
    if _relay is None:
        python = CHECKOUT / ".venv" / "bin" / "python"
        _relay = Relay(python, CHECKOUT / "notebooks")
    if relay_transformer not in shell.input_transformers_post:
        shell.input_transformers_post.append(relay_transformer)


def unload_ipython_extension(shell: Any) -> None:
    """`%unload_ext colab_bridge.relay`: run cells locally again and stop the 3.11 kernel."""
    global _relay
    if relay_transformer in shell.input_transformers_post:
        shell.input_transformers_post.remove(relay_transformer)
    if _relay is not None:
        _relay.shutdown()
        _relay = None
