"""The settings of a run's rounds, declared once: the round loop (`helpers.runs`) and the training program
(`helpers.program`) both take them. No TensorFlow here, so that a command line can be built from them quickly."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class RoundSettings:
    """How every round of a run picks its cohort and prepares each client's data (the glossary's names)."""

    clients_per_round: int = 10
    num_epochs: int = 5
    batch_size: int = 20
    seed: int = 0
    # "seeded": exactly clients_per_round clients from helpers.data.sample_clients(seed, round), reproducible.
    # "poisson": each client joins independently with probability clients_per_round / num_clients, drawn from a
    # secret generator (OS entropy), as DP accountants' PoissonSampledDpEvent assumes; cohorts then vary in size.
    sampling: str = "seeded"

    def __post_init__(self) -> None:
        if self.sampling not in ("seeded", "poisson"):
            raise ValueError(f"sampling must be 'seeded' or 'poisson', got {self.sampling!r}.")
        for name in ("clients_per_round", "num_epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
