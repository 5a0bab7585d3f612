"""pytest configuration for the whole repo (unit tests and nbval over notebooks/)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

# The committed notebook outputs and accuracy thresholds come from the offline sample, so the suite
# checks that by default. `FL_DATA=emnist uv run pytest` runs the notebooks on real EMNIST instead.
os.environ.setdefault("FL_DATA", "sample")

_PROC = Path("/proc")
_preexisting: set[int] = set()


def _orphaned_tff_workers() -> set[int]:
    """PIDs of TFF `worker_binary` processes whose parent has exited (Linux /proc; empty elsewhere)."""
    pids = set()
    if not _PROC.is_dir():
        return pids
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            if b"tensorflow_federated" not in command or b"worker_binary" not in command:
                continue
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == 1:
            pids.add(int(entry.name))
    return pids


def pytest_sessionstart(session) -> None:
    _preexisting.update(_orphaned_tff_workers())


def _stop_orphans() -> None:
    for pid in _orphaned_tff_workers() - _preexisting:
        try:
            os.kill(pid, signal.SIGTERM)
        except OSError:
            pass


def pytest_runtest_teardown(item, nextitem) -> None:
    # TFF's local C++ context starts a `worker_binary` child per kernel, and a shut-down notebook kernel leaves it
    # running. Stop the ones this session orphaned once each notebook is done, so they do not pile up.
    if nextitem is not None and nextitem.fspath == item.fspath:
        return
    _stop_orphans()


def pytest_sessionfinish(session, exitstatus) -> None:
    # Unit tests that ran TFF in this process (an xdist worker, or the only process with -n 0) would leave its
    # worker child running after exit.
    if "tensorflow_federated" in sys.modules:
        from helpers.workers import release_local_worker

        release_local_worker()
    _stop_orphans()
