"""The privacy accountant call of notebook 07, saved for the notebooks after it: ε of secret Poisson-sampled rounds."""

from __future__ import annotations

import math

import dp_accounting


def poisson_epsilon(noise_multiplier: float, sampling_rate: float, rounds: int, delta: float) -> float:
    """ε at `delta` for `rounds` rounds, each a Gaussian mechanism on a Poisson sample at `sampling_rate` (RDP).

    Notebook 07 writes this out: every client joins each round independently with probability `sampling_rate`,
    drawn from a secret generator, and the aggregator adds Gaussian noise of `noise_multiplier` times the clip.
    Noise 0 gives no guarantee at all: ε is infinite.
    """
    if noise_multiplier < 0 or not 0 < sampling_rate <= 1 or rounds < 1 or not 0 < delta < 1:
        raise ValueError(
            f"Need noise_multiplier >= 0, 0 < sampling_rate <= 1, rounds >= 1 and 0 < delta < 1; got "
            f"{noise_multiplier}, {sampling_rate}, {rounds}, {delta}."
        )
    if noise_multiplier == 0:
        return math.inf
    accountant = dp_accounting.rdp.RdpAccountant()
    event = dp_accounting.PoissonSampledDpEvent(sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
    accountant.compose(dp_accounting.SelfComposedDpEvent(event, rounds))
    return accountant.get_epsilon(delta)
