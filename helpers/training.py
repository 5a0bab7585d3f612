"""One training driver for every notebook: N rounds of a TFF LearningProcess on seeded client samples."""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Optional, Sequence

import tensorflow as tf
import tensorflow_federated as tff
from tqdm.auto import tqdm

from helpers.data import make_federated_data, sample_clients

History = dict[str, list[float]]
COLUMNS = ("round", "loss", "accuracy", "examples", "seconds", "test_accuracy")


def evaluate(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    model_weights: tff.learning.models.ModelWeights,
    test_data: Sequence[tf.data.Dataset],
) -> dict[str, float]:
    """Run `build_fed_eval` once on `test_data` and return its metrics (accuracy is per example)."""
    evaluator = tff.learning.algorithms.build_fed_eval(model_fn)
    return _evaluate_with(evaluator, model_weights, test_data)


def evaluate_per_client(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    model_weights: tff.learning.models.ModelWeights,
    client_datasets: Sequence[tf.data.Dataset],
) -> list[dict[str, float]]:
    """Run `build_fed_eval` on each client's dataset alone and return one metrics dict per client, in order."""
    evaluator = tff.learning.algorithms.build_fed_eval(model_fn)
    return [_evaluate_with(evaluator, model_weights, [ds]) for ds in client_datasets]


def _evaluate_with(evaluator, model_weights, test_data) -> dict[str, float]:
    state = evaluator.set_model_weights(evaluator.initialize(), model_weights)
    metrics = evaluator.next(state, list(test_data)).metrics["client_work"]["eval"]["current_round_metrics"]
    return {name: float(value) for name, value in metrics.items()}


def train(
    process: tff.learning.templates.LearningProcess,
    client_data: tff.simulation.datasets.ClientData,
    num_rounds: int,
    clients_per_round: int,
    seed: int,
    preprocess_kwargs: Optional[dict[str, Any]] = None,
    state: Any = None,
    start_round: int = 1,
    model_fn: Optional[Callable[[], tff.learning.models.VariableModel]] = None,
    test_data: Optional[Sequence[tf.data.Dataset]] = None,
    eval_every: int = 0,
    progress: bool = True,
) -> tuple[Any, History]:
    """Run rounds `start_round`..`start_round + num_rounds - 1`; return the final state and a per-round history."""
    if num_rounds < 1:
        raise ValueError(f"num_rounds must be at least 1, got {num_rounds}.")
    if eval_every and (model_fn is None or test_data is None):
        raise ValueError("eval_every needs model_fn and test_data.")
    kwargs = {"seed": seed, **(preprocess_kwargs or {})}
    evaluator = tff.learning.algorithms.build_fed_eval(model_fn) if eval_every else None
    state = process.initialize() if state is None else state
    history: History = {name: [] for name in COLUMNS}
    examples = 0
    rounds = range(start_round, start_round + num_rounds)
    for round_num in tqdm(rounds, desc="rounds", disable=not progress, leave=False):
        client_ids = sample_clients(client_data.client_ids, clients_per_round, round_num, seed)
        start = time.perf_counter()
        output = process.next(state, make_federated_data(client_data, client_ids, **kwargs))
        seconds = time.perf_counter() - start
        state = output.state
        metrics = output.metrics["client_work"]["train"]
        examples += int(metrics["num_examples"])
        last = round_num == rounds[-1]
        test_accuracy = math.nan
        if evaluator is not None and (round_num % eval_every == 0 or last):
            weights = process.get_model_weights(state)
            test_accuracy = _evaluate_with(evaluator, weights, test_data)["sparse_categorical_accuracy"]
        for name, value in zip(
            COLUMNS,
            (round_num, float(metrics["loss"]), float(metrics["sparse_categorical_accuracy"]), examples, seconds, test_accuracy),
        ):
            history[name].append(value)
    return state, history
