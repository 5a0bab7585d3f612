"""TFF's own multi-process runtime: C++ `worker_binary` executor services, and execution contexts that use them.

TFF 0.87 ships the pieces but no public function that connects to a worker you started yourself, so the few
classes it needs (from `tensorflow_federated.python.core.impl`) are wrapped here, in one place.
"""

from __future__ import annotations

import atexit
import gc
import shutil
import subprocess
import tempfile
import threading
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING, Optional, Sequence

import grpc
import portpicker
import tensorflow_federated as tff
from tensorflow_federated.python.core.backends.native import compiler
from tensorflow_federated.python.core.environments.tensorflow_frontend import tensorflow_computation
from tensorflow_federated.python.core.impl.execution_contexts import async_execution_context, sync_execution_context
from tensorflow_federated.python.core.impl.executor_stacks import python_executor_stacks
from tensorflow_federated.python.core.impl.executors import remote_executor, remote_executor_grpc_stub

if TYPE_CHECKING:
    from helpers.runtime import PrivateWorker

WORKER_BINARY = Path(tff.__file__).parent / "data" / "worker_binary"
TCP_NOTE = (
    " These workers listen on TCP ports picked when they start. Between a kill() and a revive(), another user of this "
    "machine can take a worker's port, and the driver would then send computations and client data to whatever "
    "answers there: use this fallback only on a machine you do not share.")


def _die_with_parent_prefix() -> list[str]:
    # util-linux's `setpriv --pdeathsig` makes Linux send the worker SIGTERM when the process that started it dies,
    # even by SIGKILL. (A Python preexec_fn cannot do this safely: gRPC's threads make fork-then-Python unsafe.)
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM"] if setpriv else []


def _end(process: subprocess.Popen) -> None:
    # Terminate a worker if it still runs, wait for it, and kill it if it has not stopped within 10 s.
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


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
            raise FileNotFoundError(f"TFF's worker binary is missing at {WORKER_BINARY}; reinstall tensorflow-federated.")
        self.count, self.max_calls, self.ready_timeout = count, max_concurrent_computation_calls, ready_timeout
        self.processes: list[Optional[subprocess.Popen]] = []  # None only while a worker is being launched
        self.logs: list[Optional[IO[bytes]]] = []
        self.addresses: list[str] = []
        self.private: list[Optional["PrivateWorker"]] = []  # the PrivateWorker of each address, when isolated
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

    def _start_first_isolated(self) -> Optional["PrivateWorker"]:
        """Start worker 0 in a private namespace; where that is provably impossible, warn once and return None (TCP).

        Any other failure raises `helpers.runtime.IsolationError`: no worker is then started on a port.
        """
        from helpers.runtime import ExposedRuntimeWarning, exposure_reason, exposure_warning, start_private_worker

        reason = exposure_reason()
        if reason:
            warnings.warn(exposure_warning(reason) + TCP_NOTE, ExposedRuntimeWarning, stacklevel=3)
            return None
        self.directory = Path(tempfile.mkdtemp(prefix="tff-workers-"))  # mode 0700
        return start_private_worker(self.max_calls, socket=self.directory / "worker-0.sock")

    def _adopt(self, index: int, worker: "PrivateWorker") -> None:
        self.private[index], self.processes[index], self.logs[index] = worker, worker.process, worker.log

    def _launch(self, index: int) -> None:
        if self.isolated:
            from helpers.runtime import start_private_worker

            self._adopt(index, start_private_worker(self.max_calls, socket=Path(self.addresses[index].removeprefix("unix:"))))
            return
        prefix = _die_with_parent_prefix()
        if prefix and threading.current_thread() is not threading.main_thread():
            # Linux sends the parent-death signal when the *thread* that started the child ends, so a worker started
            # from a short-lived thread (a threading.Timer, say) would be killed as soon as that thread returns.
            raise RuntimeError("Start or revive TFF workers from the main thread; run the rounds in another thread "
                               "if they must overlap.")
        port = self.addresses[index].rsplit(":", 1)[1]
        command = prefix + [
            str(WORKER_BINARY), f"--port={port}", f"--max_concurrent_computation_calls={self.max_calls}"]
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
            _end(self.processes[index])

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


def release_local_worker() -> None:
    """Stop the `worker_binary` child of TFF's current local context, which TFF 0.87 leaves running at exit."""
    # TFF stops that child only when its context is garbage-collected, so a process that exits with the context
    # still installed leaves an orphan (which also keeps the process's stdout open). Installing a fresh context
    # lets the old one be collected now; the new one starts no worker until something runs on it.
    # TFF's collector sends the worker SIGINT and then waits for it without a timeout. A worker started by a process
    # that ignores SIGINT (anything run as `command &` from a script, where the shell ignores it) inherits that and
    # never exits, so the wait would hang for ever. End TFF's own workers with SIGTERM first.
    for manager in gc.get_objects():
        if type(manager).__qualname__ == "local_cpp_executor_factory.<locals>.ServiceManager":
            process = getattr(manager, "_process", None)
            if isinstance(process, subprocess.Popen):
                _end(process)
                manager._process = None  # so that TFF's collector does not signal a process that is gone
    tff.backends.native.set_sync_local_cpp_execution_context()
    gc.collect()


def wait_until_ready(address: str, timeout: float = 60.0, process: Optional[subprocess.Popen] = None,
                     log: Optional[IO[bytes]] = None) -> None:
    """Block until the worker at `address` accepts gRPC connections; raise a clear error if it never does."""
    with grpc.insecure_channel(address) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            detail = ""
            if process is not None and process.poll() is not None:
                detail = f" The worker exited with code {process.returncode}."
                if log is not None:
                    log.seek(0)
                    detail += " Its last log lines: " + log.read().decode(errors="replace")[-500:]
            raise TimeoutError(f"No TFF worker answered at {address} within {timeout:.0f} s.{detail}") from None


def executor_factory(address: str) -> python_executor_stacks.ResourceManagingExecutorFactory:
    """TFF's executor factory for the worker at `address` (`host:port` or `unix:/path`), as contexts take it."""
    stub = remote_executor_grpc_stub.RemoteExecutorGrpcStub(grpc.insecure_channel(address))

    def stack_fn(cardinalities):
        if cardinalities.get(tff.CLIENTS) is None:
            cardinalities[tff.CLIENTS] = 0  # as TFF's local context does when no client data is passed
        executor = remote_executor.RemoteExecutor(stub)
        executor.set_cardinalities(cardinalities)
        return executor

    return python_executor_stacks.ResourceManagingExecutorFactory(executor_stack_fn=stack_fn)


def remote_context(address: str) -> sync_execution_context.SyncExecutionContext:
    """A synchronous TFF execution context that runs every computation on the worker at `address`."""
    return sync_execution_context.SyncExecutionContext(
        executor_fn=executor_factory(address), compiler_fn=compiler.desugar_and_transform_to_native,
        transform_args=tensorflow_computation.transform_args, transform_result=tensorflow_computation.transform_result)


def multi_worker_context(addresses: Sequence[str]) -> tff.framework.SyncContext:
    """An execution context that splits each round's clients over the workers at `addresses` and merges the results."""
    if not addresses:
        raise ValueError("multi_worker_context needs at least one worker address.")
    contexts = [
        async_execution_context.AsyncExecutionContext(
            executor_fn=executor_factory(address), compiler_fn=compiler.desugar_and_transform_to_native,
            transform_args=tensorflow_computation.transform_args,
            transform_result=tensorflow_computation.transform_result)
        for address in addresses
    ]
    return tff.backends.native.create_mergeable_comp_execution_context(contexts)
