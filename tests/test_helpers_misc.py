"""helpers.seeds and helpers.plots."""

from __future__ import annotations

import random

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf

from helpers import data
from helpers.plots import plot_client_digits, plot_history
from helpers.seeds import set_seeds


def draw() -> tuple:
    return random.random(), float(np.random.rand()), float(tf.random.uniform([]))


def test_set_seeds_repeats_python_numpy_and_tensorflow() -> None:
    set_seeds(3)
    first = draw()
    set_seeds(3)
    assert draw() == first
    set_seeds(4)
    assert draw() != first


def test_plot_client_digits_one_row_per_client() -> None:
    train = data.load_emnist(source="sample").train
    fig = plot_client_digits(train, ["w000", "w001"], per_client=4)
    images = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 8 and len(images) == 8
    assert images[0].images[0].get_array().shape == (28, 28)


def test_plot_history_one_panel_per_metric() -> None:
    fig = plot_history({"round": [1, 2, 3], "train_loss": [3, 2, 1], "train_accuracy": [0.1, 0.5, 0.7]})
    assert [ax.get_ylabel() for ax in fig.axes] == ["train loss", "train accuracy"]
    assert [ax.get_title() for ax in fig.axes] == ["train loss by round", "train accuracy by round"]
    assert fig.texts[0].get_text() == "training metrics"  # the figure's own title
    assert list(fig.axes[0].lines[0].get_ydata()) == [3, 2, 1]


@pytest.mark.slow  # starts a Jupyter kernel
def test_progress_yields_every_item_and_its_saved_widget_text_shows_the_end() -> None:
    """helpers.plots.progress: outside Jupyter a text bar; in a kernel the saved fallback reads the final count."""
    import nbformat
    from nbclient import NotebookClient

    from helpers.plots import progress

    assert list(progress(range(4), desc="rounds")) == [0, 1, 2, 3]
    nb = nbformat.v4.new_notebook()
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "from helpers.plots import progress\nfor _ in progress(range(7), desc='rounds'):\n    pass"
        )
    )
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    texts = [o["data"]["text/plain"] for o in nb.cells[0].outputs if o["output_type"] == "display_data"]
    assert len(texts) == 1 and "7/7" in texts[0], texts
