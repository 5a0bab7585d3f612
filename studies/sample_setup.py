"""The setup the studies share, as every notebook's first cells make it: private runtime, seed, sample, model, `Runs`.

It calls the same helpers as those cells, with the course's settings; what each study changes is in the study.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple


class SampleSetup(NamedTuple):
    """The sample's train ClientData, its pooled test set, the seed model's `model_fn`, and a `Runs` on them."""

    train: Any
    test_data: Any
    model_fn: Any
    runs: Any


def sample_setup(clients_per_round: int = 10, num_epochs: int = 5, batch_size: int = 20, seed: int = 0) -> SampleSetup:
    """Start the private runtime, seed everything, and load the sample with the seed model, as the notebooks do."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from helpers.data import load_emnist, pooled_test_data
    from helpers.models import linear_model, make_model_fn
    from helpers.runs import RoundSettings, Runs
    from helpers.runtime import use_private_runtime
    from helpers.seeds import set_seeds

    use_private_runtime()
    set_seeds(seed)
    train, test, _ = load_emnist(only_digits=True, source="sample")
    test_data = pooled_test_data(test, batch_size)
    model_fn = make_model_fn(linear_model, test_data[0].element_spec)
    settings = RoundSettings(
        clients_per_round=clients_per_round, num_epochs=num_epochs, batch_size=batch_size, seed=seed
    )
    return SampleSetup(train, test_data, model_fn, Runs(train, test_data, model_fn, settings))
