"""helpers.loops: the materialised loop folds over the same batches in the same order, and is installed only while
a process is built."""

from __future__ import annotations

import tensorflow as tf
from tensorflow_federated.python.learning import loop_builder

from helpers.loops import materialised_client_loop, materialised_loop


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
