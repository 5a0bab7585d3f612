"""helpers.partitions, helpers.models, helpers.data.label_counts, the new plots, and the training driver."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_federated as tff

from helpers import data, models, partitions, plots
from helpers import runs as training
from helpers.algorithms import build_fedavg


@pytest.fixture(scope="module")
def sample() -> data.FederatedData:
    return data.load_emnist(source="sample")


def test_iid_and_skewed_partitions_use_the_same_examples() -> None:
    labels = np.repeat(np.arange(10), 50)
    sizes = [25] * 20
    iid = partitions.iid_partition(len(labels), sizes, np.random.default_rng(0))
    skew = partitions.dirichlet_partition(labels, sizes, alpha=0.1, rng=np.random.default_rng(0))
    for parts in (iid, skew):
        assert [len(p) for p in parts] == sizes
        assert sorted(np.concatenate(parts)) == list(range(500)), "each example exactly once"
    distinct = lambda parts: np.mean([len(set(labels[p])) for p in parts])  # noqa: E731
    assert distinct(skew) < distinct(iid) - 3


def test_partitions_reject_oversized_requests() -> None:
    with pytest.raises(ValueError, match="more than the 10 examples"):
        partitions.iid_partition(10, [6, 6], np.random.default_rng(0))
    with pytest.raises(ValueError, match="more than the 4 examples"):
        partitions.dirichlet_partition(np.array([0, 1, 0, 1]), [3, 3], 0.5, np.random.default_rng(0))


def test_pool_and_wrap_round_trip(sample: data.FederatedData, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # an empty cache: the files below are this test's
    pixels, labels = partitions.pool_examples(sample.test)
    assert pixels.shape == (1000, 28, 28) and labels.shape == (1000,)
    parts = partitions.iid_partition(len(labels), [100] * 10, np.random.default_rng(1))
    wrapped = partitions.to_client_data(pixels, labels, parts, prefix="t")
    assert wrapped.client_ids[:2] == ["t000", "t001"]
    stored = list(wrapped.create_tf_dataset_for_client("t003").as_numpy_iterator())
    assert [int(e["label"]) for e in stored] == labels[parts[3]].tolist(), "a client's examples, in partition order"
    assert np.array_equal(np.stack([e["pixels"] for e in stored]), pixels[parts[3]])
    files = sorted((data._cache_root() / "partitions").glob("*.sqlite"))
    import sqlite3

    for path in files:  # TFF's reader selects a client's rows by client_id: an index must serve that query
        plan = (
            sqlite3.connect(path)
            .execute("EXPLAIN QUERY PLAN SELECT serialized_example_proto FROM examples WHERE client_id = 't003'")
            .fetchall()
        )
        assert "USING INDEX" in str(plan), plan
    partitions.to_client_data(pixels, labels, parts, prefix="t")  # the same partition: the same file, not rewritten
    assert sorted((data._cache_root() / "partitions").glob("*.sqlite")) == files
    with pytest.raises(ValueError, match="at least one example"):
        partitions.to_client_data(pixels, labels, [parts[0], np.array([], int)])
    counts = data.label_counts(wrapped)
    assert counts.shape == (10, 10) and counts.sum() == 1000
    assert np.array_equal(counts.sum(axis=0), np.bincount(labels, minlength=10))
    batch = next(iter(data.make_federated_data(wrapped, ["t000"])[0]))
    assert batch["x"].shape[1] == 784, "wrapped data goes through the same preprocessing"
    # A subset of clients pools exactly their examples, in the order given.
    some = [sample.test.client_ids[5], sample.test.client_ids[2]]
    sub_pixels, sub_labels = partitions.pool_examples(sample.test, some)
    expected = [int(e["label"]) for c in some for e in sample.test.create_tf_dataset_for_client(c)]
    assert sub_labels.tolist() == expected and sub_pixels.shape == (len(expected), 28, 28)
    with pytest.raises(ValueError, match="No examples to pool"):
        partitions.pool_examples(sample.test, [])


def test_label_heatmap_and_size_histogram() -> None:
    counts = np.array([[5, 0, 5], [0, 10, 0]])
    ax = plots.plot_label_heatmap(counts, title="t")
    assert np.allclose(ax.images[0].get_array(), [[0.5, 0, 0.5], [0, 1, 0]])
    ax = plots.plot_examples_per_client(counts)
    assert sum(p.get_height() for p in ax.patches) == 2


def test_models_shapes_and_seeded_init() -> None:
    x = tf.random.stateless_uniform([3, 784], seed=[1, 2])
    assert models.linear_model()(x).shape == (3, 10)
    assert all(float(tf.reduce_sum(tf.abs(w))) == 0.0 for w in models.linear_model().weights), "zero init"
    assert models.cnn_model()(x).shape == (3, 10)
    np.testing.assert_array_equal(models.cnn_model(seed=1)(x), models.cnn_model(seed=1)(x))


def test_training_driver_history_and_resume(sample: data.FederatedData) -> None:
    spec = data.make_federated_data(sample.train, ["w000"])[0].element_spec
    model_fn = models.make_model_fn(models.linear_model, spec)
    process = tff.learning.algorithms.build_weighted_fed_avg(
        model_fn, client_optimizer_fn=tff.learning.optimizers.build_sgdm(learning_rate=0.02)
    )
    test_data = data.make_federated_data(sample.test, sample.test.client_ids[:20], num_epochs=1)
    kwargs = dict(settings=training.RoundSettings(clients_per_round=3, seed=5, num_epochs=1), progress=False)
    state, history = training.train(
        process, sample.train, num_rounds=4, evaluation=training.Evaluation(model_fn, test_data, every=2), **kwargs
    )
    assert history["round"] == [1, 2, 3, 4]
    assert all(b > a for a, b in zip(history["examples"], history["examples"][1:])), "examples accumulate"
    assert math.isnan(history["test_accuracy"][0]) and not math.isnan(history["test_accuracy"][1])
    assert history["test_accuracy"][-1] == pytest.approx(
        training.evaluate(model_fn, process.get_model_weights(state), test_data)["sparse_categorical_accuracy"]
    )
    # Two rounds, then two more from the saved state, land on the same weights as four in one go.
    half, _ = training.train(process, sample.train, num_rounds=2, **kwargs)
    resumed, later = training.train(process, sample.train, num_rounds=2, state=half, start_round=3, **kwargs)
    assert later["round"] == [3, 4]
    for a, b in zip(
        process.get_model_weights(state).trainable, process.get_model_weights(resumed).trainable, strict=True
    ):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_train_builds_in_tff_the_very_datasets_the_driver_would(sample: data.FederatedData) -> None:
    """`train` hands TFF client ids; the datasets TFF builds from them are the driver's, shuffle and all."""
    spec = data.make_federated_data(sample.train, ["w000"])[0].element_spec
    process = build_fedavg(models.make_model_fn(models.linear_model, spec), client_lr=0.1)
    settings = training.RoundSettings(clients_per_round=4, num_epochs=2, seed=3)
    by_id, _ = training.train(process, sample.train, num_rounds=3, settings=settings, progress=False)
    state = process.initialize()
    for round_num in (1, 2, 3):
        cohort = data.sample_clients(sample.train.client_ids, 4, round_num, seed=3)
        state = process.next(state, data.make_federated_data(sample.train, cohort, num_epochs=2, seed=3)).state
    for a, b in zip(
        process.get_model_weights(state).trainable, process.get_model_weights(by_id).trainable, strict=True
    ):
        np.testing.assert_array_equal(a, b)


def test_build_fedavg_loop_gives_tffs_default_weights_for_the_cnn(sample: data.FederatedData) -> None:
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


def test_train_names_the_fix_for_a_dataset_function_tff_cannot_trace(sample: data.FederatedData) -> None:
    broken = {"w003"}

    def python_branching(client_id):
        dataset = sample.train.create_tf_dataset_for_client(client_id)  # needs a Python string id
        return dataset.take(1) if client_id in broken else dataset

    client_data = tff.simulation.datasets.ClientData.from_clients_and_tf_fn(sample.train.client_ids, python_branching)
    spec = data.make_federated_data(sample.train, ["w000"])[0].element_spec
    process = build_fedavg(models.make_model_fn(models.linear_model, spec), client_lr=0.1)
    with pytest.raises(TypeError, match="compare ids with tf.equal"):
        training.train(process, client_data, 1, training.RoundSettings(), progress=False)


def test_training_driver_rejects_bad_arguments(sample: data.FederatedData) -> None:
    with pytest.raises(ValueError, match="num_rounds must be at least 1"):
        training.train(None, sample.train, num_rounds=0, settings=training.RoundSettings())
    with pytest.raises(ValueError, match="sampling must be 'seeded' or 'poisson'"):
        training.RoundSettings(sampling="uniform")
    with pytest.raises(ValueError, match="clients_per_round must be at least 1"):
        training.RoundSettings(clients_per_round=0)


def test_plot_runs_skips_unmeasured_rounds() -> None:
    runs = {
        "a": {"round": [1, 2, 3], "test_accuracy": [math.nan, 0.5, 0.7]},
        "b": {"round": [1, 2], "test_accuracy": [0.1, 0.2]},
    }
    ax = plots.plot_runs(runs)
    assert [line.get_label() for line in ax.lines] == ["a", "b"]
    assert list(ax.lines[0].get_xdata()) == [2, 3] and list(ax.lines[0].get_ydata()) == [0.5, 0.7]


def linear_fedavg_weights(sample: data.FederatedData, num_rounds: int, seed: int) -> tuple:
    """The seed's linear model after `num_rounds` FedAvg rounds of 5 clients on the sample: (model_fn, weights)."""
    spec = data.make_federated_data(sample.train, ["w000"])[0].element_spec
    model_fn = models.make_model_fn(models.linear_model, spec)
    process = tff.learning.algorithms.build_weighted_fed_avg(
        model_fn, client_optimizer_fn=tff.learning.optimizers.build_sgdm(0.05)
    )
    settings = training.RoundSettings(clients_per_round=5, seed=seed)
    state, _ = training.train(process, sample.train, num_rounds=num_rounds, settings=settings, progress=False)
    return model_fn, process.get_model_weights(state)


def test_evaluate_per_client_matches_pooled_evaluation(sample: data.FederatedData) -> None:
    model_fn, weights = linear_fedavg_weights(sample, num_rounds=2, seed=1)
    datasets = data.make_federated_data(sample.test, sample.test.client_ids[:6], num_epochs=1)
    per_client = training.evaluate_per_client(model_fn, weights, datasets)
    pooled = training.evaluate(model_fn, weights, datasets)
    correct = sum(m["sparse_categorical_accuracy"] * m["num_examples"] for m in per_client)
    total = sum(m["num_examples"] for m in per_client)
    assert len(per_client) == 6 and total == pooled["num_examples"]
    assert correct / total == pytest.approx(pooled["sparse_categorical_accuracy"], abs=1e-6)


def test_client_accuracy_and_prediction_plots() -> None:
    ax = plots.plot_client_accuracy([0.5, 0.9, 1.0, 0.7])
    assert sum(p.get_height() for p in ax.patches) == 4
    fig = plots.plot_predictions(np.zeros((3, 784)), [1, 2, 3], [1, 5, 3])
    assert [ax.title.get_color() for ax in fig.axes] == ["black", "tab:red", "black"]


def test_pool_batches_keeps_every_example_and_matches_federated_evaluation(sample: data.FederatedData) -> None:
    datasets = data.make_federated_data(sample.test, sample.test.client_ids[:8], num_epochs=1, batch_size=7)
    pooled = data.pool_batches(datasets)
    assert list(pooled) == ["x", "y"] and pooled["x"].shape == (len(pooled["y"]), 784)
    assert len(pooled["y"]) == sum(
        len(list(sample.test.create_tf_dataset_for_client(c))) for c in sample.test.client_ids[:8]
    )
    model_fn, weights = linear_fedavg_weights(sample, num_rounds=1, seed=2)
    one = [tf.data.Dataset.from_tensor_slices(pooled).batch(20)]
    # Example-weighted accuracy does not depend on how the examples are grouped into clients.
    assert training.evaluate(model_fn, weights, one)["sparse_categorical_accuracy"] == pytest.approx(
        training.evaluate(model_fn, weights, datasets)["sparse_categorical_accuracy"], abs=1e-6
    )
    with pytest.raises(ValueError, match="No batches to pool"):
        data.pool_batches([])


def test_runs_keeps_histories_and_rejects_unknown_overrides(
    sample: data.FederatedData, capsys: pytest.CaptureFixture
) -> None:
    datasets = data.make_federated_data(sample.test, sample.test.client_ids[:5], num_epochs=1)
    model_fn = models.make_model_fn(models.linear_model, datasets[0].element_spec)
    runs = training.Runs(sample.train, datasets, model_fn, training.RoundSettings(clients_per_round=3, num_epochs=1))
    process = tff.learning.algorithms.build_weighted_fed_avg(
        model_fn, client_optimizer_fn=tff.learning.optimizers.build_sgdm(0.05)
    )
    history = runs.run("a", process, num_rounds=3, eval_every=2, clients_per_round=2)
    assert "a" in capsys.readouterr().out and runs.results["a"] is history
    assert runs.accuracy_at("a", 2) == history["test_accuracy"][1]
    with pytest.raises(KeyError, match="evaluated rounds: \\[2, 3\\]"):
        runs.accuracy_at("a", 1)
    with pytest.raises(TypeError, match="Unknown setting"):
        runs.run("b", process, num_rounds=1, client_lr=0.1)


def test_a_model_whose_input_does_not_match_the_data_is_named() -> None:
    import collections

    from helpers.models import cnn_model, linear_model, make_model_fn

    images = tf.data.Dataset.from_tensor_slices(
        collections.OrderedDict(x=np.zeros((4, 28, 28), np.float32), y=np.zeros((4, 1), np.int32))
    ).batch(2)
    for build in (linear_model, cnn_model):
        with pytest.raises(ValueError, match=r"expects inputs of shape \(batch, 784\).*\(None, 28, 28\).*preprocess"):
            make_model_fn(build, images.element_spec)
    with pytest.raises(ValueError, match="Expected an input_spec with 'x' and 'y'"):
        make_model_fn(linear_model, tf.TensorSpec((None, 784)))


def test_an_empty_client_contributes_nothing_and_breaks_nothing() -> None:
    import collections

    from helpers.data import preprocess
    from helpers.models import linear_model, make_model_fn

    def client(n: int) -> tf.data.Dataset:
        return preprocess(
            tf.data.Dataset.from_tensor_slices(
                collections.OrderedDict(label=np.zeros(n, np.int32), pixels=np.ones((n, 28, 28), np.float32))
            ),
            num_epochs=1,
        )

    datasets = [client(5), client(0)]
    process = tff.learning.algorithms.build_weighted_fed_avg(
        make_model_fn(linear_model, datasets[0].element_spec),
        client_optimizer_fn=tff.learning.optimizers.build_sgdm(0.1),
    )
    metrics = process.next(process.initialize(), datasets).metrics["client_work"]["train"]
    assert int(metrics["num_examples"]) == 5


def test_evaluate_central_matches_build_fed_eval_for_the_cnn(sample: data.FederatedData) -> None:
    datasets = data.make_federated_data(sample.test, sample.test.client_ids[:6], num_epochs=1, batch_size=9)
    model_fn = models.make_model_fn(models.cnn_model, datasets[0].element_spec)
    keras = models.cnn_model(seed=3)  # non-zero weights, so that predictions differ between digits
    weights = tff.learning.models.ModelWeights.from_model(keras)
    central = training.evaluate_central(model_fn, weights, datasets)
    federated = training.evaluate(model_fn, weights, datasets)
    assert central["num_examples"] == federated["num_examples"] > 0
    assert central["sparse_categorical_accuracy"] == pytest.approx(federated["sparse_categorical_accuracy"], abs=1e-6)
    with pytest.raises(ValueError, match="No test examples"):
        training.evaluate_central(model_fn, weights, [datasets[0].take(0)])


def test_poisson_sampling_draws_independent_cohorts_from_a_secret_generator(sample: data.FederatedData) -> None:
    ids = [f"c{i}" for i in range(1000)]
    sizes = [len(training.poisson_cohort(ids, 0.1, np.random.default_rng(i))) for i in range(200)]
    assert 90 < np.mean(sizes) < 110 and np.std(sizes) > 3, (
        "each client joins with probability 0.1, so cohort sizes vary"
    )
    spec = data.make_federated_data(sample.train, ["w000"])[0].element_spec
    process = tff.learning.algorithms.build_weighted_fed_avg(
        models.make_model_fn(models.linear_model, spec), client_optimizer_fn=tff.learning.optimizers.build_sgdm(0.05)
    )
    settings = training.RoundSettings(clients_per_round=5, num_epochs=1, sampling="poisson")
    runs = [
        training.train(process, sample.train, num_rounds=3, settings=settings, progress=False)[1]["examples"]
        for _ in range(2)
    ]
    assert runs[0] != runs[1], "two runs draw different cohorts: the generator is not seeded"


def test_runs_name_their_evaluation_data(sample: data.FederatedData, capsys: pytest.CaptureFixture) -> None:
    datasets = data.make_federated_data(sample.test, sample.test.client_ids[:5], num_epochs=1)
    model_fn = models.make_model_fn(models.linear_model, datasets[0].element_spec)
    tuning = training.Runs(
        sample.train,
        datasets,
        model_fn,
        training.RoundSettings(clients_per_round=2, num_epochs=1),
        eval_name="validation",
    )
    history = tuning.run("v", build_fedavg(model_fn, 0.05), num_rounds=2, eval_every=2)
    assert "test_accuracy" not in history and tuning.accuracy_at("v", 2) == history["validation_accuracy"][-1]
    assert "v" in capsys.readouterr().out.split("validation accuracy")[0]


def _overlapping_tick_labels(fig: "matplotlib.figure.Figure") -> list[str]:
    """Pairs of visible tick labels, on any axis of `fig`, whose drawn boxes intersect."""
    renderer = fig.canvas.get_renderer()
    clashes = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            boxes = [t.get_window_extent(renderer) for t in labels]
            for i in range(len(boxes)):
                for j in range(i + 1, len(boxes)):
                    if boxes[i].overlaps(boxes[j]):
                        clashes.append(f"{labels[i].get_text()!r} / {labels[j].get_text()!r}")
    return clashes


def test_every_helper_figure_is_titled_labelled_and_has_readable_ticks() -> None:
    """The plots the notebooks draw, at the sizes they draw them (full-size EMNIST where that is larger)."""
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    rounds = list(range(1, 51))
    history = {
        "round": rounds,
        "loss": list(np.linspace(2, 0.5, 50)),
        "accuracy": list(np.linspace(0.2, 0.9, 50)),
        "examples": [4_500 * r for r in rounds],
        "test_accuracy": [0.8 if r % 5 == 0 else math.nan for r in rounds],
    }
    counts = rng.integers(0, 60, size=(3383, 10))
    axes = [
        plots.plot_runs({f"run {i}": history for i in range(6)}),
        plots.plot_runs({"a": history}, x="examples"),
        plots.plot_examples_per_client(counts, title="examples per client"),
        plots.plot_label_heatmap(counts, title="label shares"),
        plots.plot_client_accuracy(rng.random(3383), title="per-client accuracy"),
    ]
    figures = [ax.figure for ax in axes] + [plots.plot_history(history)]
    for fig in figures:
        fig.canvas.draw()
        assert not _overlapping_tick_labels(fig), _overlapping_tick_labels(fig)
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                assert ax.get_ylabel(), "a colour bar says what its colours mean"
                continue
            assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel(), f"untitled or unlabelled axes in {fig}"
        plt.close(fig)


def test_broken_clients_read_ink_a_thousand_times_too_strong_and_the_others_are_untouched() -> None:
    from helpers.data import load_emnist
    from helpers.partitions import with_broken_clients

    train, _, _ = load_emnist(only_digits=True, source="sample")
    corrupted, broken = with_broken_clients(train, every=10)
    assert broken == sorted(train.client_ids[::10]) and len(broken) == 10
    for client_id in (broken[0], train.client_ids[1]):
        clean = next(iter(train.create_tf_dataset_for_client(client_id)))["pixels"].numpy()
        seen = next(iter(corrupted.create_tf_dataset_for_client(client_id)))["pixels"].numpy()
        expected = 1.0 - 1000.0 * (1.0 - clean) if client_id in broken else clean
        np.testing.assert_allclose(seen, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="at least 1"):
        with_broken_clients(train, every=0)
