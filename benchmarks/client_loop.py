"""A client training loop measured as an alternative to TFF's (issue #29), not used by the notebooks: a client's
batches read into tensors once, then stepped with `tf.while_loop`.

TFF 0.87 offers two loops (`tff.learning.LoopImplementation`): one iterates the client's dataset, the other reduces
over it; `helpers.algorithms.build_fedavg` uses the iterator. Reading every batch once, in the same order, and
stepping over tensors gives the same updates in the same order, so the same weights, bit for bit
(`tests/test_client_loop.py`). Whether it is faster is what `python -m benchmarks` measures (RESULTS.md, section 1).
TFF has no public way to choose another loop, so `materialised_client_loop` installs this one while a process is
built, and only then.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

import tensorflow as tf
from tensorflow_federated.python.learning import loop_builder


def materialised_loop(
    reduce_fn: Callable[[Any, Any], Any], dataset: tf.data.Dataset, initial_state_fn: Callable[[], Any]
) -> Any:
    """Fold `reduce_fn` over `dataset`'s batches in their order, as TFF's loops do, from tensors read in one pass.

    Every example is tagged with the size of its batch and the batches are concatenated, so that batches of any
    size (the last one of a client is often smaller) are cut again exactly where they were. An empty dataset runs
    no step.
    """

    def with_batch_size(batch: Any) -> Any:
        size = tf.shape(tf.nest.flatten(batch)[0])[0]
        return batch, tf.fill([size], size)

    examples = dataset.map(with_batch_size).unbatch()
    nothing = tf.nest.map_structure(lambda spec: tf.zeros([0, *spec.shape], spec.dtype), examples.element_spec)
    # One pass over the dataset, as one element (or none): shuffles and other random steps run once, as in TFF's loop.
    everything, sizes = examples.batch(2**31 - 1).reduce(nothing, lambda _, whole: whole)
    total = tf.shape(sizes)[0]

    def step(start: tf.Tensor, state: Any) -> tuple[tf.Tensor, Any]:
        size = sizes[start]
        batch = tf.nest.map_structure(lambda tensor: tensor[start : start + size], everything)
        return start + size, reduce_fn(state, batch)

    _, state = tf.while_loop(lambda start, _: start < total, step, (tf.constant(0), initial_state_fn()))
    return state


@contextlib.contextmanager
def materialised_client_loop() -> Iterator[None]:
    """Within this block, processes that TFF builds train their clients with `materialised_loop`.

    TFF's client work asks `loop_builder.build_training_loop` for its loop while it traces the client's update,
    which happens when the process is built; the original is restored on leaving the block.
    """
    original = loop_builder.build_training_loop
    loop_builder.build_training_loop = lambda loop_implementation: materialised_loop
    try:
        yield
    finally:
        loop_builder.build_training_loop = original
