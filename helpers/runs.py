"""The round loop of every notebook (RoundSettings, train, Runs), and three evaluations: federated, per client and
central."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from typing import Any, Callable, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_federated as tff
from tqdm.auto import tqdm

from helpers.client_cache import ClientCache
from helpers.data import client_dataset_computation, sample_clients, seeded_client_ids
from helpers.runtime import client_cache
from helpers.settings import RoundSettings

History = dict[str, list[float]]
COLUMNS = ("round", "loss", "accuracy", "examples", "seconds", "test_accuracy")


@functools.lru_cache(maxsize=None)
def _fed_eval(model_fn: Callable[[], tff.learning.models.VariableModel]) -> tff.learning.templates.LearningProcess:
    # Building an evaluator takes seconds; runs that share a model_fn share one.
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


def evaluate_central(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    model_weights: tff.learning.models.ModelWeights,
    test_data: Sequence[tf.data.Dataset],
) -> dict[str, float]:
    """Per-example accuracy of `model_weights` on all of `test_data`, computed here in the notebook's process.

    It is the number `evaluate` (TFF's `build_fed_eval`) returns on the same data, as notebook 01 checks, but the
    test set stays in this process instead of being serialized to TFF's worker at every evaluation. Only a
    simulation can do this: it holds every client's test data in one place.
    """
    try:
        return _count_correct(_central_model(model_fn), model_weights, test_data)
    except ValueError as error:
        if "invalid state" not in str(error):
            raise
        # Building TFF computations can leave a Keras model made earlier unusable in eager mode: make a new one.
        _central_model.cache_clear()
        return _count_correct(_central_model(model_fn), model_weights, test_data)


@functools.lru_cache(maxsize=8)
def _central_model(model_fn: Callable[[], tff.learning.models.VariableModel]) -> tff.learning.models.VariableModel:
    return model_fn()  # one model per model_fn, so that its prediction function is traced once


def _count_correct(model, model_weights, test_data) -> dict[str, float]:
    model_weights.assign_weights_to(model)
    correct = total = 0
    for dataset in test_data:
        for batch in dataset.unbatch().batch(2000):
            predicted = tf.argmax(model.predict_on_batch(batch["x"], training=False), axis=-1, output_type=tf.int64)
            correct += int(
                tf.reduce_sum(tf.cast(predicted == tf.cast(tf.reshape(batch["y"], [-1]), tf.int64), tf.int64))
            )
            total += int(tf.size(batch["y"]))
    if total == 0:
        raise ValueError("No test examples: every dataset in test_data is empty.")
    return {"sparse_categorical_accuracy": correct / total, "num_examples": float(total)}


def _evaluate_with(evaluator, model_weights, test_data) -> dict[str, float]:
    state = evaluator.set_model_weights(evaluator.initialize(), model_weights)
    metrics = evaluator.next(state, list(test_data)).metrics["client_work"]["eval"]["current_round_metrics"]
    return {name: float(value) for name, value in metrics.items()}


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """Evaluate the server model on `test_data` every `every` rounds and after the last one.

    `name` says which data these are ("test", "validation"); the history keeps the accuracy as f"{name}_accuracy".
    """

    model_fn: Callable[[], tff.learning.models.VariableModel]
    test_data: Sequence[tf.data.Dataset]
    every: int = 5
    name: str = "test"


def poisson_cohort(client_ids: Sequence[str], rate: float, rng: np.random.Generator) -> list[str]:
    """Each client joins independently with probability `rate`; for a DP guarantee `rng` must be secret."""
    return [c for c, joins in zip(client_ids, rng.random(len(client_ids)) < rate) if joins]


def _taking_client_ids(
    process: tff.learning.templates.LearningProcess,
    client_data: tff.simulation.datasets.ClientData,
    settings: RoundSettings,
    cache: Optional[ClientCache],
) -> tff.learning.templates.LearningProcess:
    """`process` composed with a computation that builds each client's dataset from its id, inside TFF's runtime."""
    from helpers.seeds import graph_seed

    global_seed = graph_seed(settings.seed)  # set_seeds changes it, and with it the shuffles (a cache key here)
    cache_dir = cache.folder_for(client_data) if cache is not None else None
    return _compose(process, client_data, settings.num_epochs, settings.batch_size, global_seed, cache_dir)


@functools.lru_cache(maxsize=16)
def _compose(
    process: tff.learning.templates.LearningProcess,
    client_data: tff.simulation.datasets.ClientData,
    num_epochs: int,
    batch_size: int,
    global_seed: object,
    cache_dir: Optional[str],
) -> tff.learning.templates.LearningProcess:
    # One composed process per (process, data, settings), shared by every seed (each id carries its run's seed): TFF's
    # worker keeps every new computation it is sent, and TFF prepares each before its first call, so a training
    # program that calls `train` once per round, or a sweep over seeds, must not compose a new one each time.
    try:
        dataset_computation = client_dataset_computation(
            client_data, cache_dir, seeded_ids=True, num_epochs=num_epochs, batch_size=batch_size
        )
    except (ValueError, TypeError, RuntimeError) as error:  # RuntimeError: an eager tensor captured in a graph
        raise TypeError(
            "train() lets TFF build each client's dataset from its id, so the ClientData's dataset function must be "
            "TensorFlow code that takes the id as a string tensor: compare ids with tf.equal, not `in` or `==` on "
            "Python strings, make its tensors inside the function (or pass lists), and build datasets from "
            "serializable_dataset_fn. TFF's own loaders, hold_out_clients "
            f"and to_client_data qualify. The function failed with: {error}"
        ) from error
    return tff.simulation.compose_dataset_computation_with_learning_process(dataset_computation, process)


def train(
    process: tff.learning.templates.LearningProcess,
    client_data: tff.simulation.datasets.ClientData,
    num_rounds: int,
    settings: RoundSettings,
    state: Any = None,
    start_round: int = 1,
    evaluation: Optional[Evaluation] = None,
    progress: bool = True,
) -> tuple[Any, History]:
    """Run rounds `start_round`..`start_round + num_rounds - 1`; return the final state and a per-round history.

    Each round hands TFF the cohort's client ids, and TFF builds their datasets (`client_data`'s dataset function,
    then `helpers.data.preprocess`) inside its runtime, so the function must be TensorFlow code.
    """
    if num_rounds < 1:
        raise ValueError(f"num_rounds must be at least 1, got {num_rounds}.")
    secret = np.random.default_rng() if settings.sampling == "poisson" else None  # unseeded on purpose
    state = process.initialize() if state is None else state
    # TFF builds each client's dataset from its id, inside its runtime: `next` takes ids, not datasets.
    cache = client_cache()  # on the private worker, each client is read from its source once (helpers.client_cache)
    by_id = _taking_client_ids(process, client_data, settings, cache)
    columns = COLUMNS[:-1] + (f"{evaluation.name}_accuracy" if evaluation else COLUMNS[-1],)
    history: History = {name: [] for name in columns}
    examples = 0
    rounds = range(start_round, start_round + num_rounds)
    for round_num in tqdm(rounds, desc="rounds", disable=not progress, leave=False):
        if secret is None:
            client_ids = sample_clients(client_data.client_ids, settings.clients_per_round, round_num, settings.seed)
        else:
            client_ids = poisson_cohort(
                client_data.client_ids, settings.clients_per_round / len(client_data.client_ids), secret
            )
        start = time.perf_counter()
        output = by_id.next(state, seeded_client_ids(client_ids, settings.seed))
        seconds = time.perf_counter() - start
        if cache is not None:
            cache.trim()
        state = output.state
        metrics = output.metrics["client_work"]["train"]
        examples += int(metrics["num_examples"])
        last = round_num == rounds[-1]
        test_accuracy = math.nan
        if evaluation is not None and (round_num % evaluation.every == 0 or last):
            weights = process.get_model_weights(state)
            test_accuracy = evaluate_central(evaluation.model_fn, weights, evaluation.test_data)[
                "sparse_categorical_accuracy"
            ]
        for name, value in zip(
            columns,
            (
                round_num,
                float(metrics["loss"]),
                float(metrics["sparse_categorical_accuracy"]),
                examples,
                seconds,
                test_accuracy,
            ),
        ):
            history[name].append(value)
    return state, history


class Runs:
    """Named training runs on shared data, model and test set, kept side by side for comparison."""

    def __init__(
        self,
        client_data: tff.simulation.datasets.ClientData,
        test_data: Sequence[tf.data.Dataset],
        model_fn: Callable[[], tff.learning.models.VariableModel],
        settings: RoundSettings,
        eval_name: str = "test",
    ) -> None:
        """Store the defaults that every `run` uses unless it overrides them; `eval_name` names `test_data`."""
        self.client_data, self.test_data, self.model_fn, self.settings = client_data, test_data, model_fn, settings
        self.eval_name, self.column = eval_name, f"{eval_name}_accuracy"
        self.results: dict[str, History] = {}

    def run(
        self,
        name: str,
        process: tff.learning.templates.LearningProcess,
        num_rounds: int = 20,
        eval_every: int = 5,
        client_data: Optional[tff.simulation.datasets.ClientData] = None,
        model_fn: Optional[Callable[[], tff.learning.models.VariableModel]] = None,
        **settings: Any,
    ) -> History:
        """Train `process` for `num_rounds`, print a summary line and keep the history.

        `client_data` and `model_fn` (the model `process` trains, used to evaluate it) replace the shared ones, and
        keyword `settings` replace fields of the shared `RoundSettings`, for this run only.
        """
        fields = {f.name for f in dataclasses.fields(RoundSettings)}
        unknown = set(settings) - fields
        if unknown:
            raise TypeError(
                f"Unknown setting(s) {sorted(unknown)}; choose from {sorted(fields | {'client_data', 'model_fn'})}."
            )
        evaluation = Evaluation(model_fn or self.model_fn, self.test_data, every=eval_every, name=self.eval_name)
        _, history = train(
            process,
            client_data or self.client_data,
            num_rounds,
            dataclasses.replace(self.settings, **settings),
            evaluation=evaluation,
            progress=False,
        )
        self.results[name] = history
        print(
            f"{name:<30} {self.eval_name} accuracy {history[self.column][-1]:.3f} after {num_rounds} rounds, "
            f"{history['examples'][-1]:,} examples, {sum(history['seconds']):.0f} s"
        )
        return history

    def accuracy_at(self, name: str, round_num: int) -> float:
        """Accuracy of run `name` on the evaluation data at `round_num`, a round where it was evaluated."""
        history = self.results[name]
        if round_num not in history["round"] or math.isnan(history[self.column][history["round"].index(round_num)]):
            evaluated = [r for r, a in zip(history["round"], history[self.column]) if not math.isnan(a)]
            raise KeyError(f"Run {name!r} was not evaluated at round {round_num}; evaluated rounds: {evaluated}.")
        return history[self.column][history["round"].index(round_num)]
