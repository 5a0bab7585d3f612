"""pytest configuration for the whole repo (unit tests and nbval over notebooks/)."""

from __future__ import annotations

import os
import sys

import pytest

# The committed notebook outputs and accuracy thresholds come from the offline sample, which is also
# `load_emnist`'s default. `FL_DATA=emnist uv run pytest` runs the notebooks on real EMNIST instead.
os.environ.setdefault("FL_DATA", "sample")


# Files whose every test starts an app, a container, a second environment or a whole notebook: `-m "not slow"` is the
# quick loop (CONTRIBUTING.md, "Tests"). A slow test elsewhere carries @pytest.mark.slow itself.
SLOW_FILES = {
    "test_apps.py",
    "test_browser.py",
    "test_checkpoint_crashes.py",
    "test_colab.py",
    "test_container.py",
    "test_pip_path.py",
}


# `-n auto` (pyproject.toml) asks this hook: one worker per core this process may use, as long as each has the
# memory of the largest notebook (benchmarks/sample.json holds the peaks) and some room for the test runner.
GIB_PER_WORKER = 2.5


def pytest_xdist_auto_num_workers(config) -> int:
    import psutil

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    by_memory = int(psutil.virtual_memory().available / 2**30 / GIB_PER_WORKER)
    return max(1, min(cores, by_memory))


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "slow: starts an app, a container, an environment or a whole notebook")


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.path.suffix == ".ipynb" or item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def pytest_sessionfinish(session, exitstatus) -> None:
    # Tests that ran TFF in this process on TFF's own default context (test_workers does, on purpose) leave its
    # worker child running until the context is collected. Every other worker is ended by helpers.runtime; .ci/run
    # fails if any worker_binary is left after the suite.
    if "tensorflow_federated" in sys.modules:
        from helpers.runtime import release_local_worker

        release_local_worker()
