"""Several TFF `worker_binary` executor services on this machine, private and ending with their driver (notebook 13).

Each is a `helpers.runtime.PrivateWorker`, or a TCP worker where isolation is unavailable; the contexts that use
them are `helpers.contexts`.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path
from typing import IO, Optional

import portpicker

from helpers.contexts import WORKER_BINARY, wait_until_ready
from helpers.runtime import (
    ExposedRuntimeWarning,
    PrivateWorker,
    end_process,
    exposure_reason,
    exposure_warning,
    start_private_worker,
)

TCP_NOTE = (
    " These workers listen on TCP ports picked when they start. Between a kill() and a revive(), another user of this "
    "machine can take a worker's port, and the driver would then send computations and client data to whatever "
    "answers there: use this fallback only on a machine you do not share."
)


def _die_with_parent_prefix() -> list[str]:
    # util-linux's `setpriv --pdeathsig` makes Linux send the worker SIGTERM when the process that started it dies,
    # even by SIGKILL. (A Python preexec_fn cannot do this safely: gRPC's threads make fork-then-Python unsafe.)
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv else []


class LocalWorkers:
    """Start `count` TFF worker services on this machine, unreachable from the network; stop them with this process.

    Each worker runs in a private network namespace and is reached through an owner-only Unix socket
    (`helpers.runtime.PrivateWorker`), so the addresses look like `unix:/tmp/tff-workers-…/worker-0.sock`. Where
    namespaces are not allowed, it warns once and falls back to `localhost:PORT`, where TFF's worker listens on
    every interface.
    """

    def __init__(self, count: int, max_concurrent_computation_calls: int = -1, ready_timeout: float = 60.0) -> None:
        """Configure `count` workers; nothing starts until the `with` block is entered."""
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count}.")
        if not WORKER_BINARY.is_file():
            raise FileNotFoundError(
                f"TFF's worker binary is missing at {WORKER_BINARY}; reinstall tensorflow-federated."
            )
        self.count, self.max_calls, self.ready_timeout = count, max_concurrent_computation_calls, ready_timeout
        self.processes: list[Optional[subprocess.Popen]] = []  # None only while a worker is being launched
        self.logs: list[Optional[IO[bytes]]] = []
        self.addresses: list[str] = []
        self.private: list[Optional[PrivateWorker]] = []  # the PrivateWorker of each address, when isolated
        self.directory: Optional[Path] = None

    def __enter__(self) -> list[str]:
        """Start the workers (see `start`) for the length of a `with` block."""
        return self.start()

    @property
    def isolated(self) -> bool:
        """True if the workers run in private network namespaces (reached through Unix sockets)."""
        return self.directory is not None

    def start(self) -> list[str]:
        """Start the workers, wait until each one answers, and return their addresses."""
        if self.processes:
            raise RuntimeError("These workers are already running; call stop() first.")
        try:
            first = self._start_first_isolated()
            for index in range(self.count):
                if self.isolated:
                    self.addresses.append(f"unix:{self.directory / f'worker-{index}.sock'}")
                else:
                    self.addresses.append(f"localhost:{portpicker.pick_unused_port()}")
                self.processes.append(None)
                self.logs.append(None)
                self.private.append(None)
                if index == 0 and first is not None:
                    self._adopt(0, first)
                else:
                    self._launch(index)
            atexit.register(self.stop)  # also on a normal interpreter exit without leaving the `with` block
            for address, process, log in zip(self.addresses, self.processes, self.logs):
                wait_until_ready(address, self.ready_timeout, process, log)
        except BaseException:
            self.stop()
            raise
        return list(self.addresses)

    def _start_first_isolated(self) -> Optional[PrivateWorker]:
        """Start worker 0 in a private namespace; where that is provably impossible, warn once and return None (TCP).

        Any other failure raises `helpers.runtime.IsolationError`: no worker is then started on a port.
        """
        reason = exposure_reason()
        if reason:
            warnings.warn(exposure_warning(reason) + TCP_NOTE, ExposedRuntimeWarning, stacklevel=3)
            return None
        self.directory = Path(tempfile.mkdtemp(prefix="tff-workers-"))  # mode 0700
        return start_private_worker(self.max_calls, socket=self.directory / "worker-0.sock", with_cache=False)

    def _adopt(self, index: int, worker: PrivateWorker) -> None:
        self.private[index], self.processes[index], self.logs[index] = worker, worker.process, worker.log

    def _launch(self, index: int) -> None:
        if self.isolated:
            self._adopt(
                index,
                start_private_worker(
                    self.max_calls, socket=Path(self.addresses[index].removeprefix("unix:")), with_cache=False
                ),
            )
            return
        prefix = _die_with_parent_prefix()
        if prefix and threading.current_thread() is not threading.main_thread():
            # Linux sends the parent-death signal when the *thread* that started the child ends, so a worker started
            # from a short-lived thread (a threading.Timer, say) would be killed as soon as that thread returns.
            raise RuntimeError(
                "Start or revive TFF workers from the main thread; run the rounds in another thread "
                "if they must overlap."
            )
        port = self.addresses[index].rsplit(":", 1)[1]
        command = prefix + [
            str(WORKER_BINARY),
            f"--port={port}",
            f"--max_concurrent_computation_calls={self.max_calls}",
        ]
        # The worker's log goes to a temporary file, not a pipe: an unread pipe fills up and blocks the worker.
        self.logs[index] = tempfile.TemporaryFile()
        self.processes[index] = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.logs[index])

    def _check_index(self, index: int) -> None:
        if not 0 <= index < len(self.processes):
            raise IndexError(f"No worker {index}: {len(self.processes)} are running (start() them first).")

    def _end_worker(self, index: int) -> None:
        if self.private and self.private[index] is not None:
            self.private[index].stop()
        elif self.processes[index] is not None:
            end_process(self.processes[index])

    def kill(self, index: int) -> None:
        """Stop worker `index` (to simulate a crash) but keep its address, so that `revive` can reuse it."""
        self._check_index(index)
        self._end_worker(index)

    def revive(self, index: int) -> None:
        """Start worker `index` again on its old address, as a restarted container or pod would be, and wait for it."""
        self._check_index(index)
        if self.processes[index].poll() is None:
            raise RuntimeError(f"Worker {index} at {self.addresses[index]} is still running; kill() it first.")
        if not self.isolated:
            self.logs[index].close()
        self._launch(index)
        wait_until_ready(self.addresses[index], self.ready_timeout, self.processes[index], self.logs[index])

    def __exit__(self, *exc_info: object) -> None:
        """Stop every worker."""
        self.stop()

    def stop(self) -> None:
        """Stop the workers (kill any that do not stop within 10 s) and forget them."""
        for index, process in enumerate(self.processes):  # signal them all first, so that they stop side by side
            if process is not None and process.poll() is None and not (self.private and self.private[index]):
                process.terminate()
        for index in range(len(self.processes)):
            self._end_worker(index)
        for index, log in enumerate(self.logs):
            if log is not None and not (self.private and self.private[index]):
                log.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.processes, self.addresses, self.logs, self.private, self.directory = [], [], [], [], None
        atexit.unregister(self.stop)
