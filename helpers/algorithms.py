"""The FedAvg builder that notebook 01 writes out by hand and everything after it reuses."""

from __future__ import annotations

from typing import Callable, Optional

import tensorflow_federated as tff


def build_fedavg(
    model_fn: Callable[[], tff.learning.models.VariableModel],
    client_lr: float,
    server_lr: float = 1.0,
    *,
    weighted: bool = True,
    model_aggregator: Optional[tff.aggregators.AggregationFactory] = None,
    loop_implementation: tff.learning.LoopImplementation = tff.learning.LoopImplementation.DATASET_ITERATOR,
) -> tff.learning.templates.LearningProcess:
    """FedAvg with SGD at `client_lr` on the clients and at `server_lr` on the server, weighted by examples or not.

    Args:
      model_fn: builds the model (a `tff.learning.models.VariableModel`), as TFF's builders take it.
      client_lr: the clients' SGD learning rate.
      server_lr: the server's SGD learning rate; 1.0 applies the averaged update as it is (plain FedAvg).
      weighted: average the client updates weighted by their numbers of examples (FedAvg), or not (DP needs not).
      model_aggregator: how the updates are averaged; None is TFF's default mean.
      loop_implementation: how a client iterates over its batches. TFF's default is `DATASET_REDUCE`; the default
        here, `DATASET_ITERATOR`, gives the same updates in the same order (identical weights), in less time
        (benchmarks/RESULTS.md, section 1).

    Returns:
      TFF's `LearningProcess` for it.
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
        loop_implementation=loop_implementation,
    )
