"""Federated Shakespeare through TFF's own loader, and notebook 14's character model and masked accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import tensorflow as tf
import tensorflow_federated as tff

from helpers import data
from helpers.data import FederatedData

SAMPLE_FILE = Path(__file__).resolve().parents[1] / "data" / "shakespeare_sample" / "shakespeare.sqlite.lzma"
SQLITE_NAME = "shakespeare.sqlite"  # the file name TFF's load_data looks for in cache_dir

# Notebook 14's ids are those of TFF's Shakespeare baseline (tff.simulation.baselines.shakespeare): 0 pads, and the
# 86 characters, out-of-vocabulary, begin and end make 90 ids. tests/test_shakespeare.py checks both against the
# notebook's and TFF's.
PAD = 0
VOCAB_SIZE = tff.simulation.baselines.shakespeare.VOCAB_LENGTH


def load_shakespeare(source: str = "sample", cache_dir: Optional[str] = None) -> FederatedData:
    """Load federated Shakespeare with TFF's loader, from the offline sample (default) or TFF's data set; say which.

    `FL_DATA` chooses as it does for EMNIST: `sample` (the default), `emnist` (TFF's downloads, here TFF's
    Shakespeare: from `cache_dir`/shakespeare.sqlite if it is there, else downloaded), or `auto`.

    Returns:
      The train and test `ClientData` (one client per speaking role, elements `{"snippets": string}`) and the
      source, "sample" or "tff".

    Raises:
      DataSourceError: TFF's data set was asked for, but it is not cached and its host cannot be reached.
    """
    tff_dir = Path(cache_dir) if cache_dir else Path.home() / ".tff"
    chosen = data.choose_source(source, tff_dir / SQLITE_NAME, "TFF's Shakespeare")
    if chosen == "sample":
        folder = data.sample_cache_dir(SAMPLE_FILE, SQLITE_NAME, "build_shakespeare_sample.py")
        label = "offline sample (six plays, one client per speaking role, data/README.md)"
    else:
        folder, label = tff_dir, "federated Shakespeare (TFF's download)"
    train, test = tff.simulation.datasets.shakespeare.load_data(cache_dir=str(folder))
    sizes = data.split_sizes(folder / SQLITE_NAME)
    (n_clients, n_train), (_, n_test) = sizes["train"], sizes["test"]
    print(f"Data: {label}: {n_clients} clients, {n_train:,} train and {n_test:,} test snippets.")
    return FederatedData(train, test, chosen)


# --- saved from the notebooks by tools/save_code.py: edit the code there, then run the tool ---
# notebook 14_federated_text_shakespeare.ipynb
def char_model() -> tf.keras.Model:
    """Embedding, three causal dilated convolutions, logits over the vocabulary at every position."""
    convolutions = [
        tf.keras.layers.Conv1D(64, 5, padding="causal", dilation_rate=rate, activation="relu") for rate in (1, 2, 4)
    ]
    return tf.keras.Sequential(
        [
            tf.keras.Input(shape=(None,), dtype=tf.int64),
            tf.keras.layers.Embedding(VOCAB_SIZE, 16),
            *convolutions,
            tf.keras.layers.Dense(VOCAB_SIZE),
        ]
    )


# notebook 14_federated_text_shakespeare.ipynb
class MaskedAccuracy(tf.keras.metrics.SparseCategoricalAccuracy):
    """Next-character accuracy over real targets only: padding targets get weight 0."""

    def __init__(self, name: str = "accuracy", **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true: tf.Tensor, y_pred: tf.Tensor, sample_weight: tf.Tensor | None = None):
        """Count each real target; `sample_weight` is ignored (the mask is the weight)."""
        # tf.not_equal, never `!=`: TFF traces this in a graph, where `!=` on tensors compares Python objects.
        real = tf.cast(tf.not_equal(y_true, PAD), tf.float32)
        return super().update_state(y_true, y_pred, sample_weight=real)


# notebook 14_federated_text_shakespeare.ipynb
def text_accuracy(weights: tff.learning.models.ModelWeights, batches: tf.data.Dataset) -> tuple[float, float]:
    """(accuracy over real characters, accuracy with padding targets counted) of `weights` on `batches`."""
    model = char_model()
    weights.assign_weights_to(model)
    hits = real = hits_all = total = 0
    for inputs, targets in batches.unbatch().batch(512):
        hit = tf.equal(tf.argmax(model(inputs, training=False), axis=-1), targets)
        is_real = tf.not_equal(targets, PAD)
        hits += int(tf.math.count_nonzero(hit & is_real))
        real += int(tf.math.count_nonzero(is_real))
        hits_all += int(tf.math.count_nonzero(hit))
        total += int(tf.size(targets))
    return hits / real, hits_all / total


# --- end of saved code ---
