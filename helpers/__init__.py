"""Helpers for the federated-learning tutorials: what the notebooks taught once and reuse (data, models, training
loops, algorithms, accounting, attacks, plots and diagrams), and the machinery a learner need not read (the private
runtime and its workers, caches, logging), each in a module named for what it holds.

Importing this package only checks the environment; it changes no global state.
"""

from __future__ import annotations

import sys
from importlib.util import find_spec
from typing import Callable, Optional

SUPPORTED_PYTHON = ((3, 9), (3, 11))
FIX = "use Python 3.11: `uv run jupyter lab` (or `uv run pytest`) provisions it; see the README's Quickstart"


def environment_problem(
    version_info: tuple = tuple(sys.version_info),
    find: Callable[[str], Optional[object]] = find_spec,
) -> Optional[str]:
    """Return why this interpreter cannot run the tutorials, or None if it can."""
    major_minor = tuple(version_info[:2])
    low, high = SUPPORTED_PYTHON
    if not low <= major_minor <= high:
        found = ".".join(map(str, major_minor))
        return (
            f"These tutorials need Python 3.9-3.11 (TensorFlow Federated 0.87 has no wheels for Python {found}); {FIX}."
        )
    if find("tensorflow_federated") is None:
        return f"tensorflow-federated is not installed in this Python ({sys.executable}); {FIX}."
    return None


_problem = environment_problem()
if _problem is not None:
    raise ImportError(_problem)
