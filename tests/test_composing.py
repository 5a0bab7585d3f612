"""Notebook 11's own blocks against NumPy: the fixed-steps client work and the coordinate-wise trimmed mean.

The code stays in the notebook, where the learner reads it; this module takes each definition from the notebook's
committed source (by name, with `ast`) and runs it on tiny problems whose answer NumPy computes independently.
"""

from __future__ import annotations

import ast
import collections
import json
import linecache
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_federated as tff

from helpers.models import linear_model, make_model_fn

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "11_composing_learning_processes.ipynb"


def from_notebook(name: str) -> object:
    """The function or class `name` as notebook 11 defines it, executed alone with tf, tff and np available."""
    for index, cell in enumerate(json.loads(NOTEBOOK.read_text())["cells"]):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        for node in ast.parse(source).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
                segment = ast.get_source_segment(source, node, padded=True) + "\n"
                filename = f"<notebook 11, cell {index}: {name}>"
                # AutoGraph reads a tf.function's source to convert its loops: give it the cell's text.
                linecache.cache[filename] = (len(segment), None, segment.splitlines(keepends=True), filename)
                namespace = {"tf": tf, "tff": tff, "np": np, "collections": collections, "Callable": Callable}
                exec(compile(segment, filename, "exec"), namespace)  # noqa: S102
                return namespace[name]
    raise LookupError(f"notebook 11 defines no {name}")


def numpy_softmax_sgd(kernel, bias, batches, lr, steps):
    """`steps` SGD steps of softmax regression with mean cross-entropy, cycling `batches`; returns the end weights."""
    kernel, bias = kernel.copy(), bias.copy()
    for step in range(steps):
        x, y = batches[step % len(batches)]
        logits = x @ kernel + bias
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        g = (p - np.eye(10)[y.ravel()]) / len(x)
        kernel -= lr * x.T @ g
        bias -= lr * g.sum(axis=0)
    return kernel, bias


def tiny_problem(seed: int = 0):
    """Six digits in three batches of 2, the types the client work needs, and start weights that get some right."""
    rng = np.random.default_rng(seed)
    x = rng.random((6, 784)).astype(np.float32)
    y = rng.integers(0, 10, (6, 1)).astype(np.int32)
    dataset = tf.data.Dataset.from_tensor_slices(collections.OrderedDict(x=x, y=y)).batch(2)  # 3 batches
    model_fn = make_model_fn(linear_model, dataset.element_spec)

    @tff.tensorflow.computation
    def initial_weights():
        return tff.learning.models.ModelWeights.from_model(model_fn())

    weights_type = initial_weights.type_signature.result
    dataset_type = tff.SequenceType(tff.types.tensorflow_to_type(dataset.element_spec))
    kernel = (0.01 * rng.normal(size=(784, 10))).astype(np.float32)
    for i in (0, 2):  # these two digits start out recognised, the others by chance only
        kernel[:, y[i, 0]] += 0.05 * (x[i] - 0.5)
    start = tff.learning.models.ModelWeights(trainable=[kernel, np.zeros(10, np.float32)], non_trainable=[])
    batches = [(x[i : i + 2], y[i : i + 2]) for i in (0, 2, 4)]
    return dataset, weights_type, dataset_type, start, batches


def test_the_fixed_steps_client_work_takes_exactly_its_steps_like_numpy_sgd() -> None:
    build = from_notebook("build_fixed_steps_client_work")
    dataset, weights_type, dataset_type, start, batches = tiny_problem()
    for steps in (1, 5):  # 5 steps cycle past the 3 batches
        work = build(linear_model, weights_type, dataset_type, 0.5, steps)
        output = work.next(work.initialize(), [start, start], [dataset, dataset])
        kernel, bias = numpy_softmax_sgd(start.trainable[0], start.trainable[1], batches, 0.5, steps)
        for result in output.result:
            np.testing.assert_allclose(result.update[0], start.trainable[0] - kernel, atol=2e-5)
            np.testing.assert_allclose(result.update[1], start.trainable[1] - bias, atol=2e-5)
            assert result.update_weight == 1.0, "every client counts once"
    weighted = build(linear_model, weights_type, dataset_type, 0.5, 1, weight_by_examples=True)
    output = weighted.next(weighted.initialize(), [start], [dataset])
    assert output.result[0].update_weight == 6.0, "weighted by the client's number of examples, n_k"


def test_the_fixed_steps_client_work_reports_the_accuracy_and_loss_keras_computes() -> None:
    """TFF traces the client work in a graph, where `==` on tensors is Python identity: the metrics must still count."""
    build = from_notebook("build_fixed_steps_client_work")
    dataset, weights_type, dataset_type, start, batches = tiny_problem()
    for steps in (1, 4):
        accuracies, losses = [], []
        for step in range(steps):  # each step's metrics are the model's before that step, on that step's batch
            kernel, bias = numpy_softmax_sgd(start.trainable[0], start.trainable[1], batches, 0.5, step)
            model = linear_model()  # a new one: building TFF computations invalidates earlier Keras models
            model.set_weights([kernel, bias])
            x, y = batches[step % len(batches)]
            accuracy = tf.keras.metrics.SparseCategoricalAccuracy()
            accuracy.update_state(y, model(x))
            accuracies.append(float(accuracy.result()))
            losses.append(float(tf.keras.losses.SparseCategoricalCrossentropy()(y, model(x))))
        expected = float(np.mean(accuracies))
        assert 0 < expected < 1, "a problem on which a metric stuck at 0 or 1 would show"
        work = build(linear_model, weights_type, dataset_type, 0.5, steps)
        train = work.next(work.initialize(), [start, start], [dataset, dataset]).measurements["train"]
        assert float(train["sparse_categorical_accuracy"]) == pytest.approx(expected, abs=1e-6)
        assert float(train["loss"]) == pytest.approx(float(np.mean(losses)), rel=1e-4)
        assert int(train["num_examples"]) == 2 * 2 * steps  # two clients, batches of 2


@pytest.mark.parametrize("trim", [1, 2])
def test_the_trimmed_mean_matches_numpy_on_every_coordinate(trim: int) -> None:
    factory = from_notebook("TrimmedMeanFactory")(trim=trim, max_clients=10)
    value_type = tff.to_type([tff.TensorType(np.float32, [4, 3]), tff.TensorType(np.float32, [3])])
    process = factory.create(value_type)
    rng = np.random.default_rng(trim)
    clients = [[rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)] for _ in range(7)]
    clients[0][0][1, 2] = 1e6  # one wild coordinate cannot move the result beyond the others' range
    result = process.next(process.initialize(), clients).result
    for leaf, got in enumerate(result):
        stacked = np.stack([client[leaf] for client in clients])
        expected = np.sort(stacked, axis=0)[trim : len(clients) - trim].mean(axis=0)
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    assert abs(result[0][1, 2]) < 10


def test_the_trimmed_mean_refuses_a_cohort_it_would_trim_away() -> None:
    factory = from_notebook("TrimmedMeanFactory")(trim=2, max_clients=10)
    process = factory.create(tff.TensorType(np.float32, [2]))
    with pytest.raises(Exception, match="outnumber"):
        process.next(process.initialize(), [np.zeros(2, np.float32)] * 4)
