"""benchmarks/client_loop.py: the materialised loop folds over the same batches in the same order, gives TFF's own
weights bit for bit, and is installed only while a process is built."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_federated as tff
from tensorflow_federated.python.learning import loop_builder

from benchmarks.client_loop import materialised_client_loop, materialised_loop
from helpers import data, models
from helpers.algorithms import build_fedavg


def test_the_loop_sees_the_batches_tffs_loop_sees_in_order() -> None:
    dataset = tf.data.Dataset.range(23).shuffle(23, seed=1).batch(5).map(lambda x: {"x": x})  # the last batch has 3
    expected = tf.data.Dataset.range(23).shuffle(23, seed=1).batch(5)
    batches = [b.numpy().tolist() for b in expected]

    @tf.function
    def run():
        def step(state, batch):
            total, count = state
            return total + tf.reduce_sum(batch["x"] * tf.cast(count + 1, tf.int64)), count + 1

        return materialised_loop(step, dataset, lambda: (tf.constant(0, tf.int64), tf.constant(0)))

    total, count = run()
    sizes = [len(b) for b in batches]
    assert sizes == [5, 5, 5, 5, 3] and int(count) == 5
    assert int(total) == sum((i + 1) * sum(b) for i, b in enumerate(batches)), "each batch whole, in order"


def test_an_empty_dataset_runs_no_step() -> None:
    @tf.function
    def run():
        empty = tf.data.Dataset.range(0).batch(5).map(lambda x: {"x": x})
        return materialised_loop(lambda state, batch: state + 1, empty, lambda: tf.constant(0))

    assert int(run()) == 0


def test_the_loop_is_installed_only_inside_the_block() -> None:
    original = loop_builder.build_training_loop
    with materialised_client_loop():
        assert loop_builder.build_training_loop(loop_builder.LoopImplementation.DATASET_REDUCE) is materialised_loop
    assert loop_builder.build_training_loop is original
    try:
        with materialised_client_loop():
            raise ValueError("a failed build")
    except ValueError:
        pass
    assert loop_builder.build_training_loop is original


LOOPS = {"DATASET_ITERATOR (build_fedavg's)": False, "materialised": True}


def _build(model_fn, materialised: bool) -> tff.learning.templates.LearningProcess:
    with materialised_client_loop() if materialised else contextlib.nullcontext():
        return build_fedavg(model_fn, 0.1)


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
        for a, b in zip(expected, _weights(_build(model_fn, loop), rounds), strict=True):
            np.testing.assert_array_equal(a, b, err_msg=name)


def test_the_materialised_loop_takes_empty_clients_and_counts_examples(sample: data.FederatedData) -> None:
    datasets = data.make_federated_data(sample.train, sample.train.client_ids[:2], num_epochs=1)
    model_fn = models.make_model_fn(models.linear_model, datasets[0].element_spec)
    outputs = {}
    for name, loop in LOOPS.items():
        process = _build(model_fn, loop)
        state = process.initialize()
        full = process.next(state, datasets).metrics["client_work"]["train"]
        empty = process.next(state, [datasets[0], datasets[1].take(0)]).metrics["client_work"]["train"]
        outputs[name] = (full["num_examples"], empty["num_examples"], full["loss"])
    assert len(set(outputs.values())) == 1, outputs
    counted = sum(
        int(sample.train.create_tf_dataset_for_client(c).reduce(0, lambda n, _: n + 1))
        for c in sample.train.client_ids[:2]
    )
    assert outputs["materialised"][0] == counted
