"""Explicit seeding, so that re-running a notebook gives the same numbers."""

from __future__ import annotations

from typing import Optional


def set_seeds(seed: int) -> None:
    """Seed Python's `random`, NumPy and TensorFlow with one value."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)


def graph_seed(op_seed: int) -> Optional[int]:
    """The graph-level seed that an eager op seeded with `op_seed` runs under now, or None if none was set.

    `set_seeds` changes it, and with it every eager shuffle. A dataset that TFF builds inside its runtime is traced in
    a graph of its own, so it must be given this seed to shuffle as the same dataset built eagerly does.
    """
    from tensorflow.python.framework import random_seed  # TF's own (global, op) seed rule; no public equivalent

    global_seed, _ = random_seed.get_seed(op_seed)
    return None if global_seed is None or global_seed == random_seed.DEFAULT_GRAPH_SEED else global_seed
