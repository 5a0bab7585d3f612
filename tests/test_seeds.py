"""helpers.seeds: one explicit seed for Python, NumPy and TensorFlow, and the graph seed TFF's traced datasets get."""

from __future__ import annotations

import numpy as np

from helpers.seeds import graph_seed, set_seeds


def test_set_seeds_repeats_draws_and_sets_the_graph_seed_traced_datasets_get() -> None:
    set_seeds(3)
    first, seed_three = np.random.random(), graph_seed(0)
    set_seeds(3)
    assert np.random.random() == first
    set_seeds(4)
    assert (seed_three, graph_seed(0)) == (3, 4), "the graph seed follows set_seeds, whatever the op seed"
