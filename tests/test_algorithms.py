"""helpers.algorithms: build_fedavg's loops give TFF's own weights, and the processes the notebooks save build."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow_federated as tff

from helpers import data, models
from helpers.algorithms import build_dp_fedavg, build_fedavg, server_optimizer_contenders

LOOPS = {
    "DATASET_ITERATOR": tff.learning.LoopImplementation.DATASET_ITERATOR,
    "materialised (None)": None,
}


def _weights(process: tff.learning.templates.LearningProcess, rounds: list[list]) -> list[np.ndarray]:
    state = process.initialize()
    for datasets in rounds:
        state = process.next(state, datasets).state
    return [np.asarray(w) for w in process.get_model_weights(state).trainable]


@pytest.mark.parametrize("model", ["linear_model", "cnn_model"])
def test_every_loop_of_build_fedavg_gives_tffs_default_weights_bit_for_bit(
    sample: data.FederatedData, model: str
) -> None:
    """The loops are a speed choice only. Batches of 7 leave a smaller last batch, which must be cut where it was."""
    ids = sample.train.client_ids
    rounds = [
        data.make_federated_data(sample.train, ids[r * 3 : r * 3 + 3], num_epochs=2, batch_size=7) for r in (0, 1)
    ]
    model_fn = models.make_model_fn(getattr(models, model), rounds[0][0].element_spec)
    sgd = tff.learning.optimizers.build_sgdm
    default = tff.learning.algorithms.build_weighted_fed_avg(
        model_fn, client_optimizer_fn=sgd(learning_rate=0.1), server_optimizer_fn=sgd(learning_rate=1.0)
    )  # TFF's own loop, DATASET_REDUCE
    expected = _weights(default, rounds)
    assert any(np.abs(w).max() > 0 for w in expected), "the clients trained"
    for name, loop in LOOPS.items():
        for a, b in zip(expected, _weights(build_fedavg(model_fn, 0.1, loop_implementation=loop), rounds), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_the_materialised_loop_takes_empty_clients_and_counts_examples(sample: data.FederatedData) -> None:
    datasets = data.make_federated_data(sample.train, sample.train.client_ids[:2], num_epochs=1)
    model_fn = models.make_model_fn(models.linear_model, datasets[0].element_spec)
    outputs = {}
    for name, loop in LOOPS.items():
        process = build_fedavg(model_fn, 0.1, loop_implementation=loop)
        state = process.initialize()
        full = process.next(state, datasets).metrics["client_work"]["train"]
        empty = process.next(state, [datasets[0], datasets[1].take(0)]).metrics["client_work"]["train"]
        outputs[name] = (full["num_examples"], empty["num_examples"], full["loss"])
    assert len(set(outputs.values())) == 1, outputs
    counted = sum(
        int(sample.train.create_tf_dataset_for_client(c).reduce(0, lambda n, _: n + 1))
        for c in sample.train.client_ids[:2]
    )
    assert outputs["materialised (None)"][0] == counted


def test_dp_fedavg_and_the_contenders_build(sample: data.FederatedData) -> None:
    """Notebooks 04 and 07 saved these builders; the studies and later notebooks call them with these arguments."""
    spec = data.make_federated_data(sample.train, sample.train.client_ids[:1])[0].element_spec
    model_fn = models.make_model_fn(models.linear_model, spec)
    dp = build_dp_fedavg(model_fn, 0.1, noise_multiplier=1.0, clients_per_round=10, clip=1.0)
    assert "aggregator" in dp.next(dp.initialize(), []).metrics
    assert list(server_optimizer_contenders(model_fn)) == [
        "FedAvg (client_lr 0.02)",
        "FedAdam (server Adam 0.01)",
        "FedYogi (server Yogi 0.01)",
        "FedProx (mu 0.1)",
    ]
