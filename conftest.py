"""pytest configuration for the whole repo (unit tests and nbval over notebooks/)."""

from __future__ import annotations

import os
import sys

# The committed notebook outputs and accuracy thresholds come from the offline sample, which is also
# `load_emnist`'s default. `FL_DATA=emnist uv run pytest` runs the notebooks on real EMNIST instead.
os.environ.setdefault("FL_DATA", "sample")


def pytest_sessionfinish(session, exitstatus) -> None:
    # Tests that ran TFF in this process on TFF's own default context (test_workers does, on purpose) leave its
    # worker child running until the context is collected. Every other worker is ended by helpers.runtime; .ci/run
    # fails if any worker_binary is left after the suite.
    if "tensorflow_federated" in sys.modules:
        from helpers.workers import release_local_worker

        release_local_worker()
