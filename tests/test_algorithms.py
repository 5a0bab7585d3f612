"""helpers.algorithms: build_fedavg gives TFF's own weights, and the processes the notebooks save build."""

from __future__ import annotations

import numpy as np
import tensorflow_federated as tff

from helpers import data, models
from helpers.algorithms import build_dp_fedavg, build_fedavg, server_optimizer_contenders
from tests.test_client_loop import _weights  # a process's weights after rounds of datasets


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


def test_build_fedavgs_loop_gives_tffs_default_weights_for_the_cnn(sample: data.FederatedData) -> None:
    """build_fedavg's DATASET_ITERATOR loop is a speed choice only: the same weights as TFF's default loop."""
    datasets = data.make_federated_data(sample.train, sample.train.client_ids[:3], num_epochs=1)
    model_fn = models.make_model_fn(models.cnn_model, datasets[0].element_spec)
    default = tff.learning.algorithms.build_weighted_fed_avg(
        model_fn,
        client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=0.1),
        server_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=1.0),
    )
    ours = build_fedavg(model_fn, client_lr=0.1)
    a = default.get_model_weights(default.next(default.initialize(), datasets).state).trainable
    b = ours.get_model_weights(ours.next(ours.initialize(), datasets).state).trainable
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_fedprox_and_adam_clients_give_the_default_loops_weights_on_dataset_iterator(
    sample: data.FederatedData,
) -> None:
    """Notebook 04's FedProx (a proximal term in every step) and notebook 14's Adam clients (optimizer state carried
    from step to step) pass DATASET_ITERATOR for speed: two rounds give TFF's default loop's weights bit for bit."""
    ids = sample.train.client_ids
    rounds = [
        data.make_federated_data(sample.train, ids[r * 3 : r * 3 + 3], num_epochs=2, batch_size=7) for r in (0, 1)
    ]
    model_fn = models.make_model_fn(models.linear_model, rounds[0][0].element_spec)
    optimizers, algorithms = tff.learning.optimizers, tff.learning.algorithms
    iterator = tff.learning.LoopImplementation.DATASET_ITERATOR

    def adam_clients(**loop):
        return algorithms.build_weighted_fed_avg(
            model_fn,
            client_optimizer_fn=optimizers.build_adam(learning_rate=0.01),
            server_optimizer_fn=optimizers.build_sgdm(learning_rate=1.0),
            **loop,
        )

    default_fed_prox = algorithms.build_weighted_fed_prox(  # TFF's default loop, DATASET_REDUCE
        model_fn,
        proximal_strength=0.1,
        client_optimizer_fn=optimizers.build_sgdm(learning_rate=0.02),
        server_optimizer_fn=optimizers.build_sgdm(learning_rate=1.0),
    )
    pairs = {  # (TFF's default loop, the iterator loop the notebooks use)
        "FedProx (mu 0.1)": (default_fed_prox, server_optimizer_contenders(model_fn)["FedProx (mu 0.1)"]),
        "Adam clients": (adam_clients(), adam_clients(loop_implementation=iterator)),
    }
    for name, (default, iterating) in pairs.items():
        expected = _weights(default, rounds)
        assert any(np.abs(w).max() > 0 for w in expected), "the clients trained"
        for a, b in zip(expected, _weights(iterating, rounds), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)
