"""TFF's local runtime made private: no execution port on the network, no worker outliving its driver.

TFF 0.87's default local context starts `worker_binary --port=P`, which listens on every network interface with
no authentication and runs any TensorFlow graph it is sent, file I/O included; it also outlives a killed kernel.
`use_private_runtime()` replaces that context, explicitly (never on import): the worker runs in a new, unprivileged
user and network namespace (`unshare`), whose only interface is its own loopback, and the driver reaches it
through an owner-only Unix socket. The worker ends when the driver does, however the driver ends. Where namespaces
are provably not allowed (some containers: a probe of the same `unshare` call fails) or the user chose so
(`FL_PRIVATE_RUNTIME=off`), it warns once, naming the exposure, and leaves TFF's default in place. Any other failure
to start the isolated worker raises `IsolationError`: nothing listens on the network because something unrelated
went wrong.
"""

from __future__ import annotations

import atexit
import gc
import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import IO, Any, Optional

from helpers.client_cache import ClientCache

READY_TIMEOUT_S = 60.0
EXPOSURE_WARNING = (
    "TFF's worker could not be isolated ({reason}), so TFF's default runtime is used: while this process runs, its "
    "worker_binary listens on all network interfaces without authentication and runs any TensorFlow graph sent to "
    "it, file I/O included. Block it with a host firewall (SECURITY.md) or run where user namespaces are "
    "allowed."
)

CONTAINER_EXPOSURE_WARNING = (
    "TFF's worker could not be isolated ({reason}), so TFF's default runtime is used. In a container that is a "
    "narrower exposure than on a laptop, but a real one: while this process runs, its worker_binary listens without "
    "authentication on the container's own network interfaces and runs any TensorFlow graph sent to it. This "
    "computer and other containers on the same container network can reach it; other machines cannot, unless its "
    "port is published (publish only Jupyter's, on 127.0.0.1) or, with Docker older than 28, they route to the "
    "container network directly. Keep untrusted containers off that network (SECURITY.md)."
)


def in_container() -> bool:
    """Whether this process runs in the learner container (its Dockerfile sets FL_CONTAINER).

    Only our image counts: what the container warning says about reachability holds for the README's run command,
    not for any machine that happens to carry Docker's or Podman's marker files.
    """
    return bool(os.environ.get("FL_CONTAINER"))


def exposure_warning(reason: str) -> str:
    """The fallback's warning: what listens where, and who can reach it, in a container or on a machine."""
    return (CONTAINER_EXPOSURE_WARNING if in_container() else EXPOSURE_WARNING).format(reason=reason)


class ExposedRuntimeWarning(UserWarning):
    """TFF runs on its default runtime, whose worker port is reachable from the network."""


class IsolationError(RuntimeError):
    """Namespaces are available, yet the isolated worker failed to start: stop rather than fall back to an open port."""


UNSHARE_ARGS = ("--user", "--map-root-user", "--net")
PROBE_TIMEOUT_S = 20.0


def isolation_unavailable() -> str:
    """Why this machine cannot run a worker in a private namespace, or "" if it can: the same `unshare` call, probed.

    Only this answer (or `FL_PRIVATE_RUNTIME=off`) may lead to TFF's exposed default runtime.
    """
    unshare = shutil.which("unshare")
    if sys.platform != "linux" or unshare is None:
        return "needs Linux and util-linux's `unshare`"
    try:
        probe = subprocess.run(
            [unshare, *UNSHARE_ARGS, "true"], capture_output=True, text=True, timeout=PROBE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return ""  # no answer is not a "no": the start below will say what is wrong
    if probe.returncode != 0:
        lines = probe.stderr.strip().splitlines()
        return f"user namespaces are not allowed here ({lines[-1] if lines else f'unshare exited {probe.returncode}'})"
    return ""


def exposure_reason() -> str:
    """Why TFF must run unisolated: the user's choice or a failed namespace probe; "" means isolate."""
    return disabled_reason() or isolation_unavailable()


def start_private_worker(
    max_concurrent_computation_calls: int = -1, *, socket: Optional[Path] = None, with_cache: bool = True
) -> "PrivateWorker":
    """Start a `PrivateWorker` after a successful probe; its failure raises `IsolationError` naming cause and fix."""
    try:
        return PrivateWorker(max_concurrent_computation_calls, socket=socket, with_cache=with_cache)
    except OSError as error:
        raise IsolationError(
            f"TFF's worker could not be started in its private namespace, although namespaces work here: {error}. "
            "Nothing was started on the network. Check free space in the temporary folder and that no other "
            "process is starving this machine, then run the cell again; to use TFF's exposed default runtime on "
            "purpose, set FL_PRIVATE_RUNTIME=off."
        ) from error


class PrivateWorker:
    """One TFF worker in its own network namespace, reached through the Unix socket `address` ("unix:/...")."""

    def __init__(
        self, max_concurrent_computation_calls: int = -1, *, socket: Optional[Path] = None, with_cache: bool = True
    ) -> None:
        """Start the worker; `socket` reuses a path (in a folder of the caller's) so a restarted worker keeps it.

        `with_cache` gives it a folder for its clients' cached datasets (`client_cache`), which only the default
        context's worker uses: `helpers.workers`' workers may be given clients by any driver's context.
        """
        from helpers.contexts import WORKER_BINARY

        unshare = shutil.which("unshare")
        if sys.platform != "linux" or unshare is None:
            raise OSError("needs Linux and util-linux's `unshare`")
        self.owns_directory = socket is None
        # A new folder has mode 0700, so only this user can reach the socket inside it. A caller's folder (shared by
        # several workers) is made again if the last worker's forwarder removed it.
        self.directory = Path(tempfile.mkdtemp(prefix="tff-worker-")) if socket is None else socket.parent
        self.directory.mkdir(mode=0o700, exist_ok=True)
        self.socket = self.directory / "worker.sock" if socket is None else socket
        self.log: IO[bytes] = tempfile.TemporaryFile()
        # The worker's tf.data cache files, removed with it (helpers.client_cache).
        self.client_cache: Optional[ClientCache] = ClientCache() if with_cache else None
        command = [
            unshare,
            *UNSHARE_ARGS,
            sys.executable,
            "-m",
            "helpers.forwarder",
            "--socket",
            str(self.socket),
            "--worker",
            str(WORKER_BINARY),
            "--max-calls",
            str(max_concurrent_computation_calls),
        ]
        if self.client_cache is not None:
            command += ["--remove-on-exit", str(self.client_cache.root)]
        # A Jupyter kernel can end without running atexit, and a driver can be SIGKILLed: the forwarder cleans up.
        command += ["--remove-on-exit" if self.owns_directory else "--remove-if-empty", str(self.directory)]
        # glibc keeps freed memory in per-thread arenas, and tf.data's file cache frees megabyte-sized buffers from
        # many threads: the worker then held memory it never used again (tests/test_client_cache.py checks the fix).
        # Allocations of 4 MiB and more get their own mapping instead, returned to the system when freed.
        env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(4 * 2**20)}
        # stdin is the lifeline: the forwarder stops the worker when this end closes, i.e. when this process ends.
        # Its own session keeps it out of this process group, which Jupyter kills on a kernel restart: it must live
        # on until it has seen the lifeline close, to remove its folders.
        self.process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            cwd=str(Path(__file__).resolve().parents[1]),
            env=env,
            start_new_session=True,
        )
        self._wait_ready()
        atexit.register(self.stop)

    @property
    def address(self) -> str:
        """The gRPC target of the worker."""
        return f"unix:{self.socket}"

    def _wait_ready(self) -> None:
        # A selector, not select(): select() refuses descriptors above 1023, which a long-lived process (a test
        # worker that has run many TFF computations) can reach.
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            ready = selector.select(READY_TIMEOUT_S)
        line = self.process.stdout.readline() if ready else b""
        if line.strip() != b"ready":
            self.log.seek(0)
            detail = self.log.read().decode(errors="replace").strip().splitlines()
            self.stop()
            raise OSError(detail[-1] if detail else f"the isolated worker did not start within {READY_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """Stop the worker (closing the lifeline ends it) and remove its socket folder."""
        end_process(self.process, lifeline=True)
        if self.process.stdout and not self.process.stdout.closed:
            self.process.stdout.close()
        if self.owns_directory:
            shutil.rmtree(self.directory, ignore_errors=True)
        if self.client_cache is not None:
            self.client_cache.remove()
        self.log.close()
        atexit.unregister(self.stop)

    def pids(self) -> list[int]:
        """The forwarder's and the worker's process ids (for tests and `ps`)."""
        import psutil

        try:
            me = psutil.Process(self.process.pid)
            return [me.pid] + [child.pid for child in me.children(recursive=True)]
        except psutil.Error:
            return []


_current: Optional[PrivateWorker] = None
_current_context: Any = None  # the context use_private_runtime installed last
_fallback_context: Any = None  # TFF's own local context, after the fallback warning: one worker, not one per call
_test_contexts: dict[str, Any] = {}  # private_test_context's, by worker address


def disabled_reason() -> str:
    """Why isolation is switched off by the user (`FL_PRIVATE_RUNTIME=off`), or "" if it is not."""
    return "FL_PRIVATE_RUNTIME=off" if os.environ.get("FL_PRIVATE_RUNTIME") == "off" else ""


def use_private_runtime() -> Optional[PrivateWorker]:
    """Install an isolated TFF worker as the default execution context; return it, or None after the fallback warning.

    Raises:
      IsolationError: namespaces work here, but the isolated worker did not start (nothing is left listening).
    """
    global _current, _current_context, _fallback_context
    import tensorflow_federated as tff

    from helpers.contexts import remote_context

    if _current is not None and _current.process.poll() is None:
        if _current_context is None:
            _current_context = remote_context(_current.address)
        tff.framework.set_default_context(_current_context)  # the same context: each new one holds a gRPC channel
        return _current
    reason = exposure_reason()
    if not reason:
        _current = start_private_worker()
    else:
        warnings.warn(exposure_warning(reason), ExposedRuntimeWarning, stacklevel=2)
        if _fallback_context is None:  # a new one per call would start a new exposed worker per call
            _fallback_context = tff.backends.native.create_sync_local_cpp_execution_context()
        tff.framework.set_default_context(_fallback_context)
        _current = _current_context = None
        return None
    _current_context = remote_context(_current.address)
    tff.framework.set_default_context(_current_context)
    return _current


def client_cache() -> Optional[ClientCache]:
    """The private worker's dataset cache while its context runs computations, else None (no file is shared).

    A worker elsewhere (a remote or deployed one) cannot see this machine's folders, so only computations that run
    on `use_private_runtime()`'s worker may cache their clients' datasets in files.
    """
    import tensorflow_federated as tff

    if _current is None or _current.process.poll() is not None:
        return None
    return _current.client_cache if tff.framework.get_context_stack().current is _current_context else None


def private_test_context() -> Any:
    """TFF's *test* execution context (`tff.backends.test`: secure sums simulated as plain sums) on the private worker.

    `tff.backends.test.set_sync_test_cpp_execution_context()` would start TFF's own, exposed worker; this builds the
    same context with the same compiler step on the worker of `use_private_runtime()` (or TFF's worker, after its
    fallback warning). Install it for a block with `tff.framework.get_context_stack().install(...)`.
    """
    import tensorflow_federated as tff

    from helpers.contexts import remote_test_context

    worker = use_private_runtime()
    if worker is None:
        return tff.backends.test.create_sync_test_cpp_execution_context()
    if worker.address not in _test_contexts:  # one per worker, as use_private_runtime keeps one: each holds a channel
        _test_contexts[worker.address] = remote_test_context(worker.address)
    return _test_contexts[worker.address]


def end_process(process: subprocess.Popen, *, lifeline: bool = False) -> None:
    """Ask a worker process to end, wait for it, and kill it if it has not stopped within 10 s.

    Args:
      process: the worker (or the forwarder in front of one).
      lifeline: the process ends when its stdin closes (`PrivateWorker`'s forwarder): close it instead of sending
        SIGTERM, so that the forwarder can stop its worker and remove its folders.
    """
    if lifeline and process.stdin and not process.stdin.closed:
        process.stdin.close()
    elif process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def release_local_worker() -> None:
    """Stop the `worker_binary` child of TFF's current local context, which TFF 0.87 leaves running at exit."""
    # TFF stops that child only when its context is garbage-collected, so a process that exits with the context
    # still installed leaves an orphan (which also keeps the process's stdout open). Installing a fresh context
    # lets the old one be collected now; the new one starts no worker until something runs on it.
    # TFF's collector sends the worker SIGINT and then waits for it without a timeout. A worker started by a process
    # that ignores SIGINT (anything run as `command &` from a script, where the shell ignores it) inherits that and
    # never exits, so the wait would hang for ever. End TFF's own workers with SIGTERM first.
    global _fallback_context
    import tensorflow_federated as tff

    _fallback_context = None  # its worker is ended below; the next fallback makes a new context
    for manager in gc.get_objects():
        if type(manager).__qualname__ == "local_cpp_executor_factory.<locals>.ServiceManager":
            process = getattr(manager, "_process", None)
            if isinstance(process, subprocess.Popen):
                end_process(process)
                manager._process = None  # so that TFF's collector does not signal a process that is gone
    tff.backends.native.set_sync_local_cpp_execution_context()
    gc.collect()
