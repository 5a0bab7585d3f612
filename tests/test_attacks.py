"""helpers.attacks (the membership threshold attack, the one-run ε lower bound) and helpers.accounting (notebook 10)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics

from helpers.accounting import poisson_epsilon
from helpers.attacks import one_run_epsilon_lower_bound, one_run_p_value, threshold_attack


def test_threshold_attack_separates_and_matches_a_hand_count() -> None:
    assert threshold_attack([3.0, 2.0], [1.0, 0.0])[:2] == (1.0, 1.0)  # every member above every non-member
    assert threshold_attack([0.0, 1.0], [1.0, 0.0])[:2] == (0.5, 0.0)  # the same scores on both sides: a coin
    # AUC is the chance that a random member outscores a random non-member (ties count half): here 5 of 6 pairs.
    result = threshold_attack([0.9, 0.8, 0.7], [0.1, 0.75])
    assert result.auc == pytest.approx(5 / 6) and (result.members, result.non_members) == (3, 2)
    assert result.advantage == pytest.approx(2 / 3)  # threshold 0.8: TPR 2/3, FPR 0
    assert result.tpr_at_0_1pct_fpr == result.tpr_at_1pct_fpr == pytest.approx(2 / 3)  # the same point, at FPR 0


def test_advantage_is_one_sided_and_low_fpr_rates_read_the_roc_curve() -> None:
    # Members score *lower*: the attack that calls high scores "member" does worse than a coin, and its advantage
    # is 0 (the best threshold accuses no one), not the 1.0 that max |TPR - FPR| would claim.
    assert threshold_attack([0.0, 1.0], [2.0, 3.0]).advantage == 0.0
    # tensorflow_privacy's max |TPR - FPR| differs there, and agrees when the attack works in its stated direction.
    fpr, tpr, _ = metrics.roc_curve([1, 1, 0, 0], [0.0, 1.0, 2.0, 3.0])
    assert threshold_attack([0.0, 1.0], [2.0, 3.0]).advantage == 0.0 < np.max(np.abs(tpr - fpr)) == 1.0
    fpr, tpr, _ = metrics.roc_curve([1, 1, 1, 0, 0], [0.9, 0.8, 0.7, 0.1, 0.75])
    assert threshold_attack([0.9, 0.8, 0.7], [0.1, 0.75]).advantage == pytest.approx(np.max(np.abs(tpr - fpr)))
    rng = np.random.default_rng(0)
    others = rng.normal(size=10_000)
    members = np.concatenate([np.full(300, 10.0), rng.normal(size=9_700)])  # 3% of members stand far out
    result = threshold_attack(members, others)
    assert result.tpr_at_0_1pct_fpr == pytest.approx(0.03 + 0.97 * 0.001, abs=0.003)
    assert result.tpr_at_1pct_fpr == pytest.approx(0.03 + 0.97 * 0.01, abs=0.006)


def test_threshold_attack_is_near_a_coin_on_identical_distributions() -> None:
    rng = np.random.default_rng(0)
    result = threshold_attack(rng.normal(size=5000), rng.normal(size=5000))
    assert abs(result.auc - 0.5) < 0.02 and result.advantage < 0.05


@pytest.mark.parametrize("members, others, message", [([], [1.0], "both"), ([np.nan], [1.0], "finite")])
def test_threshold_attack_rejects_bad_scores(members, others, message) -> None:
    with pytest.raises(ValueError, match=message):
        threshold_attack(members, others)


def test_all_correct_guesses_give_the_binomial_closed_form() -> None:
    # With delta = 0 and r of r guesses right, the bound solves p^r = alpha with p = e^eps / (1 + e^eps).
    for guesses in (10, 20, 50):
        p = 0.05 ** (1 / guesses)
        assert one_run_epsilon_lower_bound(100, guesses, guesses, 0.0) == pytest.approx(math.log(p / (1 - p)), abs=1e-6)


def test_the_bound_rises_with_evidence_and_falls_with_delta() -> None:
    bounds = [one_run_epsilon_lower_bound(100, 20, correct, 1e-5) for correct in range(10, 21)]
    assert bounds == sorted(bounds) and bounds[0] == 0.0 and bounds[-1] > 1.8
    assert one_run_epsilon_lower_bound(100, 20, 19, 1e-3) < one_run_epsilon_lower_bound(100, 20, 19, 0.0)


def test_p_value_is_the_binomial_tail_without_delta_and_is_valid_for_random_guesses() -> None:
    assert one_run_p_value(100, 20, 15, 0.5, 0.0) == pytest.approx(stats.binom.sf(14, 20, 1 / (1 + math.exp(-0.5))))
    # Guesses about fair coins that the run never saw: the bound must say 0 at least 95% of the time.
    rng = np.random.default_rng(1)
    positives = sum(one_run_epsilon_lower_bound(100, 20, int(rng.binomial(20, 0.5)), 1e-5) > 0 for _ in range(400))
    assert positives / 400 <= 0.05


@pytest.mark.parametrize("args", [(10, 20, 5), (10, 5, 6), (10, 5, -1)])
def test_bad_counts_are_rejected(args) -> None:
    with pytest.raises(ValueError, match="correct <= guesses <= canaries"):
        one_run_p_value(*args, 1.0, 1e-5)


def test_poisson_epsilon_is_notebook_07s_accountant() -> None:
    # Notebook 07 prints these for its runs: q = 10/100, 10 rounds, delta = 1e-5.
    assert poisson_epsilon(0.5, 0.1, 10, 1e-5) == pytest.approx(14.42, abs=0.005)
    assert poisson_epsilon(1.0, 0.1, 10, 1e-5) == pytest.approx(3.44, abs=0.005)
    assert poisson_epsilon(0.0, 0.1, 10, 1e-5) == math.inf
    with pytest.raises(ValueError, match="sampling_rate"):
        poisson_epsilon(1.0, 0.0, 10, 1e-5)
