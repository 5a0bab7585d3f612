"""pytest configuration for the whole repo (unit tests and nbval over notebooks/)."""

from __future__ import annotations

import json
import os
import sys
from collections import defaultdict
from pathlib import Path

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


# `-n auto` (pyproject.toml) asks this hook: one worker per core this process may use, plus one, as long as each has
# the memory of the largest notebook (benchmarks/sample.json holds the peaks) and some room for the test runner. The
# extra worker fills the time the others' processes wait (a kernel for its TFF worker, an app or a container to
# start): with one worker per core the two cores were busy 91% of a clean-clone `uv run pytest` (sampled every 5 s)
# and it took 19.1 min; with three workers, 99% and 17.3 min (one run each, 2026-12-07, 2 cores; CONTRIBUTING.md).
GIB_PER_WORKER = 2.5


def pytest_xdist_auto_num_workers(config) -> int:
    import psutil

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    by_memory = int(psutil.virtual_memory().available / 2**30 / GIB_PER_WORKER)
    return max(1, min(cores + 1, by_memory))


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "slow: starts an app, a container, an environment, a notebook or kernel, or a TFF driver process"
    )
    # Several xdist workers: TensorFlow's default of one intra-op thread per core makes the workers' kernels and TFF
    # workers contend for the same cores. With one thread per op each, notebooks 03 and 04 run side by side
    # under nbval in 131 and 134 s against 141 and 141 s (two runs each, 2026-12-07); a single inter-op thread as
    # well was slower (165 s). The processes a test starts (kernels, TFF's workers) inherit the setting.
    workers = getattr(config, "workerinput", {}).get("workercount", 1)
    if workers > 1:
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")


# Longest first, so that the xdist workers finish together: `--dist loadscope` hands out whole modules and notebooks
# (its scopes) in collection order (`--no-loadscope-reorder`, pyproject.toml; xdist would otherwise order them by
# their number of tests, which put the few long app, container and Colab tests last). The seconds per scope are
# measured: `FL_DURATIONS=tests/durations.json uv run pytest` writes what a run took into that table. A scope the
# table does not know yet runs before the known ones: it may be long, and a long scope started last is what this
# ordering avoids.
DURATIONS = Path(__file__).resolve().parent / "tests" / "durations.json"


def _scope(nodeid: str) -> str:
    """The unit xdist's loadscope schedules: the test's module (or class), or the notebook of an nbval cell."""
    return nodeid.rsplit("::", 1)[0]


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if item.path.suffix == ".ipynb" or item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)
    if hasattr(config, "workerinput"):  # an xdist worker: the collection its scheduler hands out in this order
        seconds = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
        first: dict[str, int] = {}
        for index, item in enumerate(items):
            first.setdefault(_scope(item.nodeid), index)
        # Stable, and by scope: each module's and notebook's own items keep their order (nbval's cells must).
        items.sort(key=lambda item: (-seconds.get(_scope(item.nodeid), float("inf")), first[_scope(item.nodeid)]))


_measured: "defaultdict[str, float]" = defaultdict(float)


# Notebook 01 under nbval is skipped when tests/test_browser.py runs it: that test clicks Run All Cells in JupyterLab
# and fails on any error output or any cell left unrun, which is all `--nbval-lax` checks, so nbval would only run the
# same cells a second time (about 100 worker-seconds). Without Chromium, or with the browser test deselected, nbval
# runs 01.
BROWSER_TEST = "tests/test_browser.py::test_run_all_cells_of_notebook_01_in_jupyterlab"
BROWSER_NOTEBOOK = "notebooks/01_federated_averaging_quickstart.ipynb"


# After -k and -m have deselected theirs. (pytest takes a hook only under a name that starts with "pytest_".)
@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_skip_what_the_browser_test_runs(config, items) -> None:
    """Mark notebook 01's nbval cells skipped when the browser test will run that notebook."""
    from tests.apps import chromium_path

    if chromium_path() and any(item.nodeid == BROWSER_TEST for item in items):
        reason = f"{BROWSER_TEST} runs every cell of this notebook in JupyterLab (the root conftest.py says why)"
        for item in items:
            if item.nodeid.startswith(BROWSER_NOTEBOOK + "::"):
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """With FL_DURATIONS set, add each test phase's duration to its module's or notebook's total."""
    if os.environ.get("FL_DURATIONS"):  # setup, call and teardown, as the worker spent them
        _measured[_scope(report.nodeid)] += report.duration


def pytest_sessionfinish(session, exitstatus) -> None:
    out = os.environ.get("FL_DURATIONS")
    if out and _measured and not hasattr(session.config, "workerinput"):  # the controller, or a run without xdist
        path = Path(out)
        table = json.loads(path.read_text()) if path.exists() else {}
        table.update({scope: round(seconds, 1) for scope, seconds in _measured.items()})  # a partial run keeps the rest
        path.write_text(json.dumps(dict(sorted(table.items(), key=lambda kv: -kv[1])), indent=1) + "\n")
    # Tests that ran TFF in this process on TFF's own default context (test_workers does, on purpose) leave its
    # worker child running until the context is collected. Every other worker is ended by helpers.runtime; .ci/run
    # fails if any worker_binary is left after the suite.
    if "tensorflow_federated" in sys.modules:
        from helpers.runtime import release_local_worker

        release_local_worker()
