"""The FedAvg builder that notebook 01 writes out by hand and everything after it reuses, and the processes that
notebooks 04 and 07 define and save here."""

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


# --- saved from the notebooks by tools/save_code.py: edit the code there, then run the tool ---
# notebook 04_models_and_server_optimizers.ipynb
def server_optimizer_contenders(model_fn) -> dict[str, tff.learning.templates.LearningProcess]:
    """FedAvg, FedAdam, FedYogi and FedProx, all with the clients' SGD at 0.02, by the names the table gives them."""
    sgd, optimizers = tff.learning.optimizers.build_sgdm, tff.learning.optimizers
    fed_avg, fed_prox = tff.learning.algorithms.build_weighted_fed_avg, tff.learning.algorithms.build_weighted_fed_prox
    # build_fedavg's client loop: the same updates as TFF's default loop, in less time
    iterate = tff.learning.LoopImplementation.DATASET_ITERATOR
    return {
        "FedAvg (client_lr 0.02)": build_fedavg(model_fn, 0.02),
        "FedAdam (server Adam 0.01)": fed_avg(
            model_fn,
            client_optimizer_fn=sgd(learning_rate=0.02),
            server_optimizer_fn=optimizers.build_adam(learning_rate=0.01),
            loop_implementation=iterate,
        ),
        "FedYogi (server Yogi 0.01)": fed_avg(
            model_fn,
            client_optimizer_fn=sgd(learning_rate=0.02),
            server_optimizer_fn=optimizers.build_yogi(learning_rate=0.01),
            loop_implementation=iterate,
        ),
        "FedProx (mu 0.1)": fed_prox(
            model_fn,
            proximal_strength=0.1,
            client_optimizer_fn=sgd(learning_rate=0.02),
            server_optimizer_fn=sgd(learning_rate=1.0),
            loop_implementation=iterate,
        ),
    }


# notebook 07_differential_privacy.ipynb
def build_dp_fedavg(
    model_fn, client_lr: float, *, noise_multiplier: float, clients_per_round: int, clip: float
) -> tff.learning.templates.LearningProcess:
    """DP-FedAvg: the unweighted mean of client updates clipped to L2 norm `clip`, plus Gaussian noise."""
    dp_mean = tff.aggregators.DifferentiallyPrivateFactory.gaussian_fixed(
        noise_multiplier=noise_multiplier, clients_per_round=clients_per_round, clip=clip
    )  # noise std: z * clip
    return build_fedavg(model_fn, client_lr, weighted=False, model_aggregator=dp_mean)


# --- end of saved code ---
