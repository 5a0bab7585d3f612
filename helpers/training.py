"""One training driver for every notebook: N rounds of a TFF LearningProcess on seeded client samples."""

from __future__ import annotations

import functools
import math
import time
from typing import Any, Callable, Optional, Sequence

import tensorflow as tf
import tensorflow_federated as tff
from tqdm.auto import tqdm

from helpers.data import make_federated_data, sample_clients

History = dict[str, list[float]]
COLUMNS = ("round", "loss", "accuracy", "examples", "seconds", "test_accuracy")


@functools.lru_cache(maxsize=None)
def _fed_eval(model_fn: Callable[[], tff.learning.models.VariableModel]) -> tff.learning.templates.LearningProcess:
    # Building an evaluator costs about 2 s; runs that share a model_fn share one.
    return tff.learning.algorithms.build_fed_eval(model_fn)


def evaluate(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    model_weights: tff.learning.models.ModelWeights,
    test_data: Sequence[tf.data.Dataset],
) -> dict[str, float]:
    """Run `build_fed_eval` once on `test_data` and return its metrics (accuracy is per example)."""
    evaluator = _fed_eval(model_fn)
    return _evaluate_with(evaluator, model_weights, test_data)


def evaluate_per_client(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    model_weights: tff.learning.models.ModelWeights,
    client_datasets: Sequence[tf.data.Dataset],
) -> list[dict[str, float]]:
    """Run `build_fed_eval` on each client's dataset alone and return one metrics dict per client, in order."""
    evaluator = _fed_eval(model_fn)
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
    evaluator = _fed_eval(model_fn) if eval_every else None
    state = process.initialize() if state is None else state
    history: History = {name: [] for name in COLUMNS}
    examples = 0
    # A client's preprocessed dataset is the same every round (its shuffle is seeded), so build each one once.
    datasets: dict[str, tf.data.Dataset] = {}
    rounds = range(start_round, start_round + num_rounds)
    for round_num in tqdm(rounds, desc="rounds", disable=not progress, leave=False):
        client_ids = sample_clients(client_data.client_ids, clients_per_round, round_num, seed)
        start = time.perf_counter()
        new_ids = [c for c in client_ids if c not in datasets]
        datasets.update(zip(new_ids, make_federated_data(client_data, new_ids, **kwargs)))
        output = process.next(state, [datasets[c] for c in client_ids])
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


class Runs:
    """Named training runs on shared data and test set, kept side by side for comparison."""

    def __init__(
        self,
        client_data: tff.simulation.datasets.ClientData,
        test_data: Sequence[tf.data.Dataset],
        model_fn: Callable[[], tff.learning.models.VariableModel],
        seed: int,
        clients_per_round: int = 10,
        num_epochs: int = 5,
        batch_size: int = 20,
    ) -> None:
        """Store the defaults that every `run` uses unless it overrides them."""
        self.defaults = dict(client_data=client_data, model_fn=model_fn, clients_per_round=clients_per_round,
                             num_epochs=num_epochs, batch_size=batch_size)
        self.test_data, self.seed = test_data, seed
        self.results: dict[str, History] = {}

    def run(self, name: str, process: tff.learning.templates.LearningProcess, num_rounds: int = 20,
            eval_every: int = 5, **overrides: Any) -> History:
        """Train `process` for `num_rounds` with the defaults (or `overrides`), print a summary line, keep the history."""
        unknown = set(overrides) - set(self.defaults)
        if unknown:
            raise TypeError(f"Unknown override(s) {sorted(unknown)}; choose from {sorted(self.defaults)}.")
        c = {**self.defaults, **overrides}
        _, history = train(process, c["client_data"], num_rounds, c["clients_per_round"], seed=self.seed,
                           preprocess_kwargs={"num_epochs": c["num_epochs"], "batch_size": c["batch_size"]},
                           model_fn=c["model_fn"], test_data=self.test_data, eval_every=eval_every, progress=False)
        self.results[name] = history
        print(f"{name:<30} test accuracy {history['test_accuracy'][-1]:.3f} after {num_rounds} rounds, "
              f"{history['examples'][-1]:,} examples, {sum(history['seconds']):.0f} s")
        return history

    def accuracy_at(self, name: str, round_num: int) -> float:
        """Test accuracy of run `name` at `round_num`, which must be a round where it was evaluated."""
        history = self.results[name]
        if round_num not in history["round"] or math.isnan(history["test_accuracy"][history["round"].index(round_num)]):
            evaluated = [r for r, a in zip(history["round"], history["test_accuracy"]) if not math.isnan(a)]
            raise KeyError(f"Run {name!r} was not evaluated at round {round_num}; evaluated rounds: {evaluated}.")
        return history["test_accuracy"][history["round"].index(round_num)]
