"""`==` / `!=` on tensors in code TFF may trace (issue 37, point 4): none in the repository, and the scan catches it."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tools import traced_equality


def test_no_tensor_equality_in_code_tff_may_trace() -> None:
    """helpers/*.py and every notebook: TFF traces in a graph, where `==` on tensors is Python identity."""
    found = traced_equality.findings(traced_equality.repository_sources())
    assert not found, "\n".join(map(str, found))


PLANTED_MODULE = """
import tensorflow as tf
import tensorflow_federated as tff

PAD, EOS = 0, 3
WIDTH = 2 * PAD + 28


class Masked(tf.keras.metrics.SparseCategoricalAccuracy):
    def __init__(self, name="accuracy"):
        super().__init__(name=name if name != "" else "accuracy")  # __init__ sees Python values: not flagged

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_true, y_pred, tf.cast(y_true != PAD, tf.float32))  # FLAG


@tf.function
def count_right(predicted, labels):
    assert predicted.shape[-1] == labels.shape[-1] and len(labels.shape) == 1 and PAD == 0 and WIDTH != 28
    return tf.reduce_sum(tf.cast(predicted == labels, tf.int32))  # FLAG


@tff.tensorflow.computation(tf.int32)
def is_zero(x):
    return x == 0  # FLAG


def only_real(dataset):
    return dataset.filter(lambda x, y: y[0] != PAD)  # FLAG: reached from dataset_fn, which TFF traces


def dataset_fn(client_id):
    mode = "train"
    if mode == "train":  # traced-eq: python
        return only_real(tf.data.Dataset.range(3).map(lambda i: (i, i)))


data = tff.simulation.datasets.ClientData.from_clients_and_tf_fn(["a"], dataset_fn)


def eager_report(labels, predicted):
    return float(tf.reduce_mean(tf.cast(labels == predicted, tf.float32)))  # eager, never traced: not flagged
"""


def test_the_scan_flags_planted_defects_and_passes_python_comparisons(tmp_path: Path) -> None:
    module = tmp_path / "planted.py"
    module.write_text(PLANTED_MODULE)
    found = traced_equality.findings([traced_equality.module_source(module)])
    expected = [i + 1 for i, line in enumerate(PLANTED_MODULE.splitlines()) if "# FLAG" in line]
    assert [f.line for f in found] == expected, "\n".join(map(str, found))
    assert [f.function for f in found] == ["update_state", "count_right", "is_zero", "only_real"]


# The two defects issue 37 found, as their notebooks had them: 14's metric and 11's client accuracy.
OLD_14 = """
CHAR_VOCAB = list("abc")
PAD = 0


class MaskedAccuracy(tf.keras.metrics.SparseCategoricalAccuracy):
    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_true, y_pred, sample_weight=tf.cast(y_true != PAD, tf.float32))
"""
MODEL_FN_14 = """
ModelWeights = tff.learning.models.ModelWeights


def model_fn():
    return tff.learning.models.from_keras_model(char_model(), loss=loss(), input_spec=spec, metrics=[MaskedAccuracy()])
"""
OLD_11 = """
def build_fixed_steps_client_work(model_builder, client_lr, local_steps):
    @tf.function
    def local_sgd(model, initial, dataset):
        correct = 0.0
        for batch in dataset.repeat().take(local_steps):
            p = model(batch["x"], training=True)
            labels = tf.reshape(batch["y"], [-1])
            correct += tf.reduce_sum(tf.cast(tf.argmax(p, -1, output_type=labels.dtype) == labels, tf.float32))
        return correct
    return local_sgd
"""


@pytest.mark.parametrize(
    ("cells", "function"), [((OLD_14, MODEL_FN_14), "update_state"), ((OLD_11,), "local_sgd")], ids=["14", "11"]
)
def test_the_scan_flags_the_defects_issue_37_found(tmp_path: Path, cells: tuple[str, ...], function: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A notebook"), nbformat.v4.new_code_cell("%matplotlib inline")]
    nb.cells += [nbformat.v4.new_code_cell(c.strip()) for c in cells]
    path = tmp_path / "99_planted.ipynb"
    nbformat.write(nb, path)
    found = traced_equality.findings([traced_equality.notebook_source(path)])
    assert [f.function for f in found] == [function], "\n".join(map(str, found))
    assert found[0].where.startswith(f"{path}, cell 2, line ")


SHADOWING = """
def train(process, rounds):
    return process if rounds == 0 else None  # eager driver code: never traced


@tf.function
def finetune(model, train_data):
    train = train_data.batch(10).get_single_element()  # a local tensor named like the driver above
    return tf.reduce_sum(train["y"])
"""


def test_a_local_name_in_traced_code_does_not_pull_in_the_function_of_that_name(tmp_path: Path) -> None:
    """`train = ...` inside a traced function is a tensor, not the module's `train`, which stays untraced."""
    module = tmp_path / "shadowing.py"
    module.write_text(SHADOWING)
    assert not traced_equality.findings([traced_equality.module_source(module)])
    module.write_text(SHADOWING.replace("train = train_data.batch(10).get_single_element()", "train(None, 0)"))
    assert [f.function for f in traced_equality.findings([traced_equality.module_source(module)])] == ["train"]
