"""Explicit seeding, so that re-running a notebook gives the same numbers."""

from __future__ import annotations


def set_seeds(seed: int) -> None:
    """Seed Python's `random`, NumPy and TensorFlow with one value."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
