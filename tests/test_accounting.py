"""helpers.accounting: notebook 07's accountant call, by the RDP and the PLD accountant of dp_accounting."""

from __future__ import annotations

import math

import pytest

from helpers.accounting import poisson_epsilon


def test_rdp_is_the_default_and_pld_is_tighter_for_notebook_07s_runs() -> None:
    # Notebook 07's runs: q = 10/100, 10 rounds, delta = 1e-5.
    for z, rdp, pld in [(0.5, 14.42, 12.26), (0.75, 6.22, 5.20), (1.0, 3.44, 2.85)]:
        assert poisson_epsilon(z, 0.1, 10, 1e-5) == poisson_epsilon(z, 0.1, 10, 1e-5, "rdp")
        assert poisson_epsilon(z, 0.1, 10, 1e-5) == pytest.approx(rdp, abs=0.005)
        assert poisson_epsilon(z, 0.1, 10, 1e-5, "pld") == pytest.approx(pld, abs=0.005)


def test_the_population_plan_of_notebook_07_by_both_accountants() -> None:
    # 50 rounds of 20 clients at noise 1.0: RDP needs 2,825 clients for epsilon <= 1, PLD about 1,160; at EMNIST's
    # 3,383 writers RDP gives 0.94 and PLD 0.33 (the values an independent review computed with PLD).
    assert poisson_epsilon(1.0, 20 / 2825, 50, 1e-5) <= 1.0 < poisson_epsilon(1.0, 20 / 2824, 50, 1e-5)
    assert poisson_epsilon(1.0, 20 / 1170, 50, 1e-5, "pld") <= 1.0 < poisson_epsilon(1.0, 20 / 1150, 50, 1e-5, "pld")
    assert poisson_epsilon(1.0, 20 / 3383, 50, 1e-5) == pytest.approx(0.94, abs=0.005)
    assert poisson_epsilon(1.0, 20 / 3383, 50, 1e-5, "pld") == pytest.approx(0.33, abs=0.01)


def test_pld_without_sampling_matches_the_gaussian_mechanisms_exact_epsilon() -> None:
    # One Gaussian mechanism at q = 1 has an exact (epsilon, delta) curve (Balle and Wang, 2018):
    # delta(eps) = Phi(1/(2z) - eps z) - e^eps Phi(-1/(2z) - eps z). PLD must land just above its epsilon, RDP above.
    from scipy import optimize, stats

    z, delta = 1.0, 1e-5

    def exact_delta(eps: float) -> float:
        return stats.norm.cdf(1 / (2 * z) - eps * z) - math.exp(eps) * stats.norm.cdf(-1 / (2 * z) - eps * z)

    exact = optimize.brentq(lambda eps: exact_delta(eps) - delta, 0.0, 20.0)
    pld = poisson_epsilon(z, 1.0, 1, delta, "pld")
    assert exact <= pld <= exact + 0.01
    assert poisson_epsilon(z, 1.0, 1, delta, "rdp") > pld


def test_no_noise_means_no_guarantee_and_bad_arguments_are_refused() -> None:
    assert poisson_epsilon(0.0, 0.1, 10, 1e-5, "pld") == math.inf
    with pytest.raises(ValueError, match="sampling_rate"):
        poisson_epsilon(1.0, 0.0, 10, 1e-5, "pld")
    with pytest.raises(ValueError, match="accountant must be 'rdp'"):
        poisson_epsilon(1.0, 0.1, 10, 1e-5, "moments")
