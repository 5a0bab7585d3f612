"""helpers.workers and helpers.contexts: local TFF worker services start, compute through contexts, and stop."""

import numpy as np
import pytest
import tensorflow_federated as tff

from helpers.contexts import multi_worker_context, remote_context
from helpers.workers import LocalWorkers


def test_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LocalWorkers(0)


def test_workers_compute_and_stop() -> None:
    @tff.tensorflow.computation(np.int32)
    def double(x):
        return x * 2

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def total(values):
        return tff.federated_sum(values)

    workers = LocalWorkers(2)
    with workers as addresses:
        processes = list(workers.processes)
        assert len(addresses) == 2 and all(p.poll() is None for p in processes)
        with tff.framework.get_context_stack().install(remote_context(addresses[0])):
            assert double(21) == 42
        with tff.framework.get_context_stack().install(multi_worker_context(addresses)):
            assert total([1, 2, 3, 4, 5]) == 15
    assert all(p.returncode is not None for p in processes)
    assert workers.addresses == []


def test_multi_worker_context_needs_addresses() -> None:
    with pytest.raises(ValueError, match="at least one"):
        multi_worker_context([])


def test_release_local_worker_stops_tffs_own_worker() -> None:
    import psutil

    from helpers.runtime import release_local_worker

    def tff_children() -> list:
        # TFF's own worker is a direct child; the private runtime's worker is its forwarder's child.
        return [p for p in psutil.Process().children() if p.name() == "worker_binary"]

    @tff.tensorflow.computation
    def one():
        return np.int32(1)

    tff.backends.native.set_sync_local_cpp_execution_context()  # TFF's own default, not the private runtime
    assert one() == 1
    started = tff_children()
    assert started, "TFF's local context should have started a worker"
    release_local_worker()
    psutil.wait_procs(started, timeout=10)
    assert not tff_children()


def test_a_killed_worker_is_reported_and_a_revived_one_serves_the_old_context() -> None:
    from helpers.contexts import wait_until_ready

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def total(values):
        return tff.federated_sum(values)

    workers = LocalWorkers(2)
    with workers as addresses:
        context = multi_worker_context(addresses)
        with pytest.raises(RuntimeError, match="still running"):
            workers.revive(1)
        workers.kill(1)
        with pytest.raises(TimeoutError, match=f"No TFF worker answered at {addresses[1]}"):
            wait_until_ready(addresses[1], timeout=1)
        workers.revive(1)
        assert workers.addresses == addresses and workers.processes[1].poll() is None
        with tff.framework.get_context_stack().install(context):  # the context made before the crash still works
            assert total([1, 2, 3, 4, 5]) == 15
        with pytest.raises(IndexError, match="No worker 2"):
            workers.kill(2)


def test_isolated_workers_listen_on_no_port_and_may_start_from_any_thread() -> None:
    import threading

    import psutil

    started: list = []
    thread = threading.Thread(target=lambda: started.append(LocalWorkers(1)) or started[0].start())
    thread.start()
    thread.join()
    workers = started[0]
    try:
        assert workers.isolated and workers.addresses[0].startswith("unix:")
        assert [worker.client_cache for worker in workers.private] == [None], "no dataset-cache folder it never uses"
        pids = {p.pid for p in psutil.Process().children(recursive=True)}
        assert not [c for c in psutil.net_connections("inet") if c.status == "LISTEN" and c.pid in pids]
        with tff.framework.get_context_stack().install(remote_context(workers.addresses[0])):
            assert tff.tensorflow.computation(lambda: np.int32(7))() == 7, "alive after its starting thread ended"
    finally:
        workers.stop()


def test_exposed_fallback_warns_and_starts_from_the_main_thread_only(monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    import threading

    from helpers.runtime import ExposedRuntimeWarning

    monkeypatch.setenv("FL_PRIVATE_RUNTIME", "off")
    with pytest.warns(ExposedRuntimeWarning, match="listens on all network interfaces"):
        with LocalWorkers(1) as addresses:
            assert addresses[0].startswith("localhost:")
    if not shutil.which("setpriv"):
        pytest.skip("without setpriv the workers do not die with their parent, so any thread may start them")
    errors = []
    thread = threading.Thread(target=lambda: errors.append(pytest.raises(RuntimeError, LocalWorkers(1).start)))
    thread.start()
    thread.join()
    assert "main thread" in str(errors[0].value)


@pytest.mark.slow  # a TFF driver in a process of its own
def test_release_local_worker_does_not_hang_when_sigint_is_ignored() -> None:
    # A script run as `command &` starts with SIGINT ignored, and so does TFF's worker; TFF's own clean-up stops the
    # worker with SIGINT and waits without a timeout.
    import subprocess
    import sys

    script = (
        "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "import numpy as np, tensorflow_federated as tff\n"
        "from helpers.runtime import release_local_worker\n"
        "assert tff.tensorflow.computation(lambda: np.int32(1))() == 1\n"
        "release_local_worker()\n"
        "print('released')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "released" in result.stdout, result.stderr[-2000:]
    assert "ProcessLookupError" not in result.stderr, "TFF's collector signalled a worker that was already gone"
