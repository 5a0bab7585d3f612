"""Notebook 07's privacy accountant call, saved for the notebooks and studies after it."""

from __future__ import annotations

import math

import dp_accounting


# --- saved from the notebooks by tools/save_code.py: edit the code there, then run the tool ---
# notebook 07_differential_privacy.ipynb
def poisson_epsilon(
    noise_multiplier: float, sampling_rate: float, rounds: int, delta: float, accountant: str = "rdp"
) -> float:
    """ε at `delta` of `rounds` Gaussian mechanisms on Poisson samples at `sampling_rate` (`accountant`: rdp or pld)."""
    if noise_multiplier < 0 or not 0 < sampling_rate <= 1 or rounds < 1 or not 0 < delta < 1:
        raise ValueError(
            f"Need noise_multiplier >= 0, 0 < sampling_rate <= 1, rounds >= 1 and 0 < delta < 1; "
            f"got {noise_multiplier}, {sampling_rate}, {rounds}, {delta}."
        )
    if accountant not in ("rdp", "pld"):
        raise ValueError(
            f"accountant must be 'rdp' (Rényi DP) or 'pld' (privacy loss distributions), got {accountant!r}."
        )
    if noise_multiplier == 0:  # clipping alone: no guarantee at all
        return math.inf
    composer = dp_accounting.rdp.RdpAccountant() if accountant == "rdp" else dp_accounting.pld.PLDAccountant()
    event = dp_accounting.PoissonSampledDpEvent(sampling_rate, dp_accounting.GaussianDpEvent(noise_multiplier))
    composer.compose(dp_accounting.SelfComposedDpEvent(event, rounds))
    return composer.get_epsilon(delta)


# --- end of saved code ---
