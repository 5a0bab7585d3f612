"""helpers.runs: the round loop (RoundSettings, train, Runs), cohort sampling, and the three evaluations."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_federated as tff

from helpers import data, models
from helpers import runs as training
from helpers.algorithms import build_fedavg


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


def test_one_composed_process_serves_every_seed_with_each_seeds_own_datasets(sample: data.FederatedData) -> None:
    """Each id carries its run's seed ("SEED:ID"), so runs of several seeds share one composed process (TFF prepares
    each new computation for about half a second) and still get the driver's datasets for their seed, 0 included."""
    try:
        for global_seed in (None, 0, 7):  # no global seed; the notebooks' set_seeds(0), whose (0, 0) TF special-cases
            tf.random.set_seed(global_seed)
            build = data.client_dataset_computation(sample.train, seeded_ids=True, num_epochs=2, batch_size=7)
            for seed in (0, 1, 3, 12345):
                (seeded,) = data.seeded_client_ids(["w001"], seed)
                assert seeded == f"{seed}:w001"
                got = list(build(seeded).as_numpy_iterator())
                eager = data.make_federated_data(sample.train, ["w001"], num_epochs=2, batch_size=7, seed=seed)[0]
                expected = list(eager.as_numpy_iterator())
                assert len(got) == len(expected)
                for a, b in zip(got, expected):
                    np.testing.assert_array_equal(a["x"], b["x"])
                    np.testing.assert_array_equal(a["y"], b["y"])
    finally:
        tf.random.set_seed(None)
    with pytest.raises(TypeError, match="seeded_ids"):
        data.client_dataset_computation(sample.train, seeded_ids=True, seed=1)
    with pytest.raises(TypeError, match="seed must be an int"):
        data.seeded_client_ids(["w001"], "1")
    with pytest.raises(ValueError, match="64 bits"):
        data.seeded_client_ids(["w001"], 2**63)
    spec = data.make_federated_data(sample.train, ["w000"])[0].element_spec
    process = build_fedavg(models.make_model_fn(models.linear_model, spec), client_lr=0.1)
    composed = training._compose.cache_info().currsize
    for seed in (1, 2):
        settings = training.RoundSettings(clients_per_round=3, num_epochs=1, seed=seed)
        training.train(process, sample.train, num_rounds=1, settings=settings, progress=False)
    assert training._compose.cache_info().currsize == composed + 1, "one composition for both seeds"


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
