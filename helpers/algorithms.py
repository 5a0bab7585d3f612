"""The FedAvg builder that notebook 01 writes out by hand and everything after it reuses."""

from __future__ import annotations

from typing import Callable, Optional

import tensorflow_federated as tff


def build_fedavg(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    client_lr: float,
    server_lr: float = 1.0,
    weighted: bool = True,
    model_aggregator: Optional[tff.aggregators.AggregationFactory] = None,
) -> tff.learning.templates.LearningProcess:
    """FedAvg with SGD at `client_lr` on the clients and at `server_lr` on the server, weighted by examples or not.

    Clients iterate over their batches with TFF's `DATASET_ITERATOR` loop instead of the default `DATASET_REDUCE`:
    the same updates in the same order (the weights are identical), and rounds about a third faster on 2 cores
    (benchmarks/RESULTS.md, section 1).
    """
    build = (
        tff.learning.algorithms.build_weighted_fed_avg if weighted else tff.learning.algorithms.build_unweighted_fed_avg
    )
    sgd = tff.learning.optimizers.build_sgdm
    return build(
        model_fn,
        client_optimizer_fn=sgd(learning_rate=client_lr),
        server_optimizer_fn=sgd(learning_rate=server_lr),
        model_aggregator=model_aggregator,
        loop_implementation=tff.learning.LoopImplementation.DATASET_ITERATOR,
    )
