"""helpers.runtime: TFF's worker reachable from no network, and gone within 2 s however its driver ends.

Each case runs a driver in a subprocess, so the test sees the worker from outside, as an attacker on the network or
a user running `ps` would.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[1]
DRIVER = """
import json, os, sys, time, warnings
import tensorflow_federated as tff
from helpers.runtime import use_private_runtime
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    worker = use_private_runtime()
assert tff.federated_computation(lambda: "hi")() == b"hi"
open_files = len(os.listdir("/proc/self/fd"))
again = [use_private_runtime() for _ in range(20)]  # as every test, or a re-run setup cell, calls it
assert tff.federated_computation(lambda: "again")() == b"again"
files_opened = len(os.listdir("/proc/self/fd")) - open_files
import psutil
me = psutil.Process()
pids = [p.pid for p in me.children(recursive=True)]
workers = [p for p in psutil.process_iter(["name", "ppid"]) if p.info["name"] == "worker_binary" and
           (p.pid in pids or p.info["ppid"] in pids)]
listening = [c for c in psutil.net_connections("inet") if c.status == "LISTEN"]
print(json.dumps({
    "same_worker_again": all(w is worker for w in again),
    "files_opened_by_20_more_calls": files_opened,
    "isolated": worker is not None,
    "warnings": [str(w.message) for w in caught],
    "worker_pids": [p.pid for p in workers],
    "worker_net_ns": [os.readlink(f"/proc/{p.pid}/ns/net") for p in workers],
    "own_net_ns": os.readlink("/proc/self/ns/net"),
    "worker_listeners": [[c.laddr.ip, c.laddr.port] for c in listening if c.pid in {p.pid for p in workers}],
    "socket_mode": oct(os.stat(worker.socket).st_mode & 0o777) if worker else None,
    "folder_mode": oct(os.stat(worker.directory).st_mode & 0o777) if worker else None,
    "folders": [str(worker.directory), str(worker.client_cache.root)] if worker else [],
}), flush=True)
"""
LOOPBACK = {"127.0.0.1", "::1"}


def _start(end: str = "", env: dict | None = None, pipe_to_tee: bool = False) -> tuple[subprocess.Popen, dict]:
    """Run the driver (then `end`) in a subprocess; return it and the JSON it printed once its worker ran."""
    code = DRIVER + end
    command = [sys.executable, "-c", code]
    if pipe_to_tee:
        command = ["bash", "-c", 'exec "$0" -c "$1" | tee /dev/null', sys.executable, code]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    ready = select.poll()
    ready.register(process.stdout, select.POLLIN)
    if not ready.poll(300_000):  # a worker that outlived a failed driver keeps the pipe open: fail, do not hang
        _cleanup(process, [])
        pytest.fail("the driver printed nothing within 300 s")
    line = process.stdout.readline()
    assert line, f"the driver printed nothing (exit code {process.poll()})"
    return process, json.loads(line)


def _gone_within(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    return alive


def _folders_left(folders: list[str], seconds: float) -> list[str]:
    deadline = time.monotonic() + seconds
    left = list(folders)
    while left and time.monotonic() < deadline:
        left = [folder for folder in left if Path(folder).exists()]
        time.sleep(0.05)
    return left


def _cleanup(process: subprocess.Popen, pids: list[int]) -> None:
    for pid in [process.pid, *pids]:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    process.wait(timeout=10)


@pytest.mark.slow  # a TFF driver in a process of its own
def test_the_worker_listens_on_no_network_interface_of_this_machine() -> None:
    process, seen = _start("time.sleep(60)")
    try:
        assert seen["isolated"] and not seen["warnings"], seen
        assert seen["worker_pids"], "a worker ran the computation"
        assert all(ns != seen["own_net_ns"] for ns in seen["worker_net_ns"]), "the worker has its own network"
        assert seen["worker_listeners"] == [], "no worker socket is listening in this machine's network"
        assert (seen["socket_mode"], seen["folder_mode"]) == ("0o600", "0o700"), "only this user can connect"
        assert seen["same_worker_again"] and seen["files_opened_by_20_more_calls"] == 0, seen  # no channel per call
        assert len(seen["worker_pids"]) == 1, "after 20 more calls, still the one worker"
    finally:
        _cleanup(process, seen["worker_pids"])


@pytest.mark.slow  # a TFF driver in a process of its own
def test_the_fallback_warns_and_names_the_exposure() -> None:
    process, seen = _start("time.sleep(60)", env={"FL_PRIVATE_RUNTIME": "off"})
    try:
        assert not seen["isolated"]
        (warning,) = seen["warnings"]
        assert "listens on all network interfaces" in warning and "firewall" in warning
        # And the check above is not vacuous: TFF's own worker really listens beyond loopback.
        assert seen["worker_listeners"] and any(ip not in LOOPBACK for ip, _ in seen["worker_listeners"])
        assert len(seen["worker_pids"]) == 1, "after 20 more calls, still the one worker"
        assert seen["same_worker_again"] and seen["files_opened_by_20_more_calls"] == 0, seen
    finally:
        _cleanup(process, seen["worker_pids"])


def test_in_a_container_the_warning_says_who_can_reach_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The learner image sets FL_CONTAINER: the fallback then names the container network, not a laptop's LAN."""
    from helpers import runtime

    monkeypatch.delenv("FL_CONTAINER", raising=False)
    assert not runtime.in_container()
    assert "listens on all network interfaces" in runtime.exposure_warning("because")
    monkeypatch.setenv("FL_CONTAINER", "learner")
    warning = runtime.exposure_warning("user namespaces are not allowed here")
    assert runtime.in_container() and "user namespaces are not allowed here" in warning
    assert "other containers on the same container network" in warning and "127.0.0.1" in warning
    assert "listens without authentication" in warning, "a real exposure is named, not hidden"


@pytest.mark.slow  # a TFF driver in a process of its own
@pytest.mark.parametrize("how", ["normal exit", "exception", "SIGTERM", "SIGKILL", "piped to tee"])
def test_no_worker_outlives_its_driver(how: str) -> None:
    end = {
        "normal exit": "",
        "exception": "raise RuntimeError('boom')",
        "SIGTERM": "time.sleep(60)",
        "SIGKILL": "time.sleep(60)",
        "piped to tee": "",
    }[how]
    process, seen = _start(end, pipe_to_tee=how == "piped to tee")
    try:
        assert seen["worker_pids"]
        if how in ("SIGTERM", "SIGKILL"):
            os.kill(process.pid, getattr(signal, how))
        process.wait(timeout=30)  # with `| tee`, this is the pipeline: it ends only when every writer is gone
        assert _gone_within(seen["worker_pids"], 2.0) == [], f"worker left running after {how}"
        assert seen["folders"] and _folders_left(seen["folders"], 2.0) == [], f"folders left after {how}"
    finally:
        _cleanup(process, seen["worker_pids"])


@pytest.mark.slow  # starts a Jupyter kernel
def test_no_worker_outlives_a_restarted_jupyter_kernel() -> None:
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(ROOT))
    try:
        outputs: list[dict] = []
        reply = client.execute_interactive(DRIVER, timeout=120, output_hook=outputs.append)
        assert reply["content"]["status"] == "ok", reply["content"]
        text = "".join(m["content"].get("text", "") for m in outputs if m["msg_type"] == "stream")
        seen = json.loads(text.strip().splitlines()[-1])
        pids = seen["worker_pids"]
        assert pids
        manager.restart_kernel(now=True)  # what "Kernel > Restart" does: the old kernel process is killed
        assert _gone_within(pids, 2.0) == [], "worker left running after a kernel restart"
        assert _folders_left(seen["folders"], 2.0) == [], "socket or dataset-cache folder left after a kernel restart"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_the_test_context_simulates_secure_sums_on_the_private_worker() -> None:
    import numpy as np
    import tensorflow_federated as tff

    from helpers.runtime import private_test_context

    @tff.federated_computation(tff.FederatedType(np.int32, tff.CLIENTS))
    def secure_total(values):
        return tff.federated_secure_sum_bitwidth(values, 8)

    before = {p.pid for p in psutil.Process().children()}
    with tff.framework.get_context_stack().install(private_test_context()):
        assert secure_total([1, 2, 3]) == 6
    started = [p for p in psutil.Process().children() if p.pid not in before and p.name() == "worker_binary"]
    assert not started, "no exposed TFF worker was started for it"
    assert private_test_context() is private_test_context(), "one context per worker: each holds a gRPC channel"


def test_a_worker_that_fails_after_a_successful_probe_raises_and_leaves_no_listener(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Isolation fails safe: namespaces work, the worker does not come up in time, so stop; never fall back to TCP."""
    import helpers.runtime as runtime

    assert runtime.isolation_unavailable() == "", (
        "the probe must succeed on this machine for this test to mean anything"
    )
    monkeypatch.setattr(runtime, "READY_TIMEOUT_S", 0.001)  # the worker cannot be ready this fast: a start failure
    me = psutil.Process()

    def ours() -> set[int]:
        return {me.pid} | {child.pid for child in me.children(recursive=True)}

    def workers() -> set[int]:
        return {c.pid for c in me.children(recursive=True) if c.name() == "worker_binary"}

    before = workers()  # another test's private worker may be running
    with pytest.raises(runtime.IsolationError, match="FL_PRIVATE_RUNTIME=off"):
        runtime.start_private_worker()
    time.sleep(1)
    listening = [c for c in psutil.net_connections("inet") if c.status == "LISTEN" and c.pid in ours()]
    assert not listening, f"something of this process started listening: {listening}"
    assert workers() <= before, "no worker left behind"


def test_only_a_failed_probe_or_the_users_choice_leads_to_the_exposed_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.runtime as runtime

    monkeypatch.setattr(runtime, "UNSHARE_ARGS", ("--no-such-option",))  # what a container's refusal looks like
    assert runtime.isolation_unavailable().startswith("user namespaces are not allowed here")
    monkeypatch.setattr(runtime, "UNSHARE_ARGS", ("--user", "--map-root-user", "--net"))
    monkeypatch.delenv("FL_PRIVATE_RUNTIME", raising=False)
    assert runtime.exposure_reason() == ""
    monkeypatch.setenv("FL_PRIVATE_RUNTIME", "off")
    assert runtime.exposure_reason() == "FL_PRIVATE_RUNTIME=off"


def test_sigterm_to_the_forwarder_still_removes_its_folders() -> None:
    from helpers.runtime import PrivateWorker

    worker = PrivateWorker()
    folders = [worker.directory, worker.client_cache.root]
    try:
        os.kill(worker.process.pid, signal.SIGTERM)
        worker.process.wait(timeout=10)
        deadline = time.monotonic() + 2
        while any(f.exists() for f in folders) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(f.exists() for f in folders), [f for f in folders if f.exists()]
    finally:
        worker.stop()


@pytest.mark.slow  # a TFF driver in a process of its own
def test_local_workers_leave_no_folder_when_their_driver_is_killed() -> None:
    driver = (
        "import time; from helpers.workers import LocalWorkers\n"
        "workers = LocalWorkers(2); workers.start(); print(workers.directory, flush=True); time.sleep(600)"
    )
    process = subprocess.Popen([sys.executable, "-c", driver], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        folder = Path(process.stdout.readline().strip())
        assert folder.name.startswith("tff-workers-") and folder.is_dir()
        process.kill()  # SIGKILL: no atexit, no finally in the driver
        process.wait()
        deadline = time.monotonic() + 5
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not folder.exists(), sorted(p.name for p in folder.iterdir())
    finally:
        process.kill()
