"""helpers.shakespeare: the offline sample through TFF's loader by default, TFF's data set on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import data, shakespeare

ROOT = Path(__file__).resolve().parents[1]


def test_the_sample_loads_through_tffs_loader(capsys: pytest.CaptureFixture[str]) -> None:
    loaded = shakespeare.load_shakespeare()
    assert loaded.source == "sample"
    assert loaded.train.client_ids == loaded.test.client_ids and len(loaded.train.client_ids) == 153
    assert "THE_TEMPEST_PROSPERO" in loaded.train.client_ids
    first = next(iter(loaded.train.create_tf_dataset_for_client("THE_TEMPEST_PROSPERO")))
    assert set(first) == {"snippets"} and first["snippets"].dtype.name == "string"
    assert "153 clients, 3,556 train and 662 test snippets" in capsys.readouterr().out


def test_tffs_data_set_offline_names_the_fix(tmp_path: Path, no_network: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FL_DATA", "emnist")
    with pytest.raises(data.DataSourceError, match="FL_DATA=sample"):
        shakespeare.load_shakespeare(cache_dir=str(tmp_path))


def test_auto_falls_back_to_the_sample_offline(
    tmp_path: Path, no_network: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert shakespeare.load_shakespeare(source="auto", cache_dir=str(tmp_path)).source == "sample"
    assert "falling back to the offline sample" in capsys.readouterr().out


def test_a_cached_tff_file_is_used_without_the_network(tmp_path: Path, no_network: None) -> None:
    sample = data.sample_cache_dir(shakespeare.SAMPLE_FILE, shakespeare.SQLITE_NAME) / shakespeare.SQLITE_NAME
    (tmp_path / shakespeare.SQLITE_NAME).write_bytes(sample.read_bytes())
    assert shakespeare.load_shakespeare(source="emnist", cache_dir=str(tmp_path)).source == "tff"


def test_a_missing_sample_names_its_builder(tmp_path: Path) -> None:
    with pytest.raises(data.DataSourceError, match="build_shakespeare_sample.py"):
        data.sample_cache_dir(
            tmp_path / "shakespeare.sqlite.lzma", shakespeare.SQLITE_NAME, "build_shakespeare_sample.py"
        )


def test_stand_in_runs_skip_the_notebooks_that_do_not_read_emnist() -> None:
    """An EMNIST stand-in has nothing for 14 (Shakespeare) or 16 (a table): tools/run_standin.py skips them, saying why,
    unless --sample."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import repo
    import run_standin

    assert [p.name[:2] for p in repo.notebooks() if not run_standin.reads_emnist(p)] == ["14", "16"]


def _padded_clients(sizes: tuple[int, ...], seq_length: int = 20) -> list:
    """Chunks of a few clients: a random number of ids (a cycle, 30% noise), then padding; batched by 4."""
    import numpy as np
    import tensorflow as tf

    clients = []
    for seed, n in enumerate(sizes):
        rng = np.random.default_rng(seed)
        ids = 1 + (rng.integers(0, 7, size=(n, 1)) + np.arange(seq_length + 1)) % 7  # learnable: ids cycle
        noisy = rng.random(ids.shape) < 0.3
        ids[noisy] = rng.integers(1, shakespeare.VOCAB_SIZE, size=noisy.sum())
        ids[np.arange(seq_length + 1) >= rng.integers(3, seq_length + 1, size=n)[:, None]] = shakespeare.PAD
        clients.append(tf.data.Dataset.from_tensor_slices((ids[:, :-1], ids[:, 1:])).batch(4))
    return clients


def _tff_accuracy(metric, weights, clients) -> float:
    """The accuracy TFF's federated evaluation reports for a char_model with `metric`, pooled over `clients`."""
    import tensorflow as tf
    import tensorflow_federated as tff

    def model_fn() -> tff.learning.models.VariableModel:
        return tff.learning.models.from_keras_model(
            shakespeare.char_model(),
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            input_spec=clients[0].element_spec,
            metrics=[metric()],
        )

    evaluator = tff.learning.algorithms.build_fed_eval(model_fn)
    state = evaluator.set_model_weights(evaluator.initialize(), weights)
    metrics = evaluator.next(state, clients).metrics["client_work"]["eval"]["current_round_metrics"]
    (accuracy,) = [float(v) for k, v in metrics.items() if k not in ("loss", "num_examples", "num_batches")]
    return accuracy


def test_tffs_masked_accuracy_is_the_eager_text_accuracy() -> None:
    """TFF traces MaskedAccuracy in a graph: there it must mask padding as text_accuracy does eagerly (issue 37, 4)."""
    import tensorflow as tf
    import tensorflow_federated as tff

    class IdentityMasked(tf.keras.metrics.SparseCategoricalAccuracy):
        """The old defect: `!=` on tensors, which is Python identity in TFF's graph, so it masks nothing there."""

        def update_state(self, y_true, y_pred, sample_weight=None):
            return super().update_state(y_true, y_pred, sample_weight=tf.cast(y_true != shakespeare.PAD, tf.float32))

    clients = _padded_clients((10, 7, 3))
    pooled = clients[0].concatenate(clients[1]).concatenate(clients[2])
    tf.keras.utils.set_random_seed(1)
    model = shakespeare.char_model()  # trained a little, so that it gets both real and padding targets right
    model.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss=tf.keras.losses.SparseCategoricalCrossentropy(True))
    model.fit(pooled, epochs=10, verbose=0)
    weights = tff.learning.models.ModelWeights.from_model(model)
    masked, with_padding = shakespeare.text_accuracy(weights, pooled)
    assert abs(masked - with_padding) > 0.05, "the data must make masking matter, or the test proves nothing"
    assert _tff_accuracy(shakespeare.MaskedAccuracy, weights, clients) == pytest.approx(masked, abs=1e-6)
    # The planted defect gives the unmasked accuracy inside TFF, so the assert above would catch it.
    assert _tff_accuracy(IdentityMasked, weights, clients) == pytest.approx(with_padding, abs=1e-6)


def test_the_notebooks_ids_are_tffs_shakespeare_baselines() -> None:
    """Notebook 14's table and special ids are those of tff.simulation.baselines.shakespeare, as its text says."""
    import ast

    import nbformat
    from tensorflow_federated.python.simulation.baselines.shakespeare import char_prediction_preprocessing as tff_text

    nb = nbformat.read(ROOT / "notebooks" / "14_federated_text_shakespeare.ipynb", as_version=4)
    cell = next(c.source for c in nb.cells if c.cell_type == "code" and "CHAR_VOCAB = " in c.source)
    names = {"CHAR_VOCAB", "PAD", "OOV", "BOS", "EOS", "VOCAB_SIZE"}
    assigns = [
        n
        for n in ast.parse(cell).body
        if isinstance(n, ast.Assign) and names & {t.id for t in ast.walk(n.targets[0]) if isinstance(t, ast.Name)}
    ]
    notebook: dict = {}
    exec(compile(ast.Module(body=assigns, type_ignores=[]), "cell", "exec"), notebook)
    assert notebook["CHAR_VOCAB"] == tff_text.CHAR_VOCAB
    assert (notebook["PAD"], notebook["OOV"], notebook["BOS"], notebook["EOS"]) == tff_text.get_special_tokens()
    assert notebook["VOCAB_SIZE"] == shakespeare.VOCAB_SIZE and notebook["PAD"] == shakespeare.PAD
