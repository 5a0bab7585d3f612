"""Scoring privacy attacks: a membership-inference threshold attack and a one-run lower bound on ε (notebook 10)."""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats
from sklearn import metrics


class AttackResult(NamedTuple):
    """How well a score separates members from non-members.

    ROC AUC, the attacker's advantage max(TPR - FPR), and the true-positive rate at false-positive rates of 0.1% and
    1% (Carlini et al., 2022): the share of members caught while almost no non-member is accused.
    """

    auc: float
    advantage: float
    tpr_at_0_1pct_fpr: float
    tpr_at_1pct_fpr: float
    members: int
    non_members: int


def threshold_attack(member_scores: Sequence[float], non_member_scores: Sequence[float]) -> AttackResult:
    """Score a threshold attack that calls "member" when a score is high (for example minus the loss).

    The ROC curve of the scores over every threshold, its area (an average over thresholds), the advantage
    max(TPR - FPR) at the best threshold (Yeom et al., 2018), and the largest TPR among thresholds whose FPR is at
    most 0.1% and 1%. AUC 0.5 and advantage 0 mean no better than a coin. The advantage is one-sided: it credits only
    the stated direction (high score = member). tensorflow_privacy's suite reports max |TPR - FPR|, which also
    credits a score that works in reverse; the two agree unless the reversed score does better. A low-FPR rate needs
    enough non-members to mean anything: with fewer than 1,000 the 0.1% rate can only be measured at FPR 0. The
    lock's tensorflow_privacy 0.9.0 wheel lacks its attack package (`privacy_tests`), hence scikit-learn.
    """
    members, others = np.asarray(member_scores, dtype=float), np.asarray(non_member_scores, dtype=float)
    if members.size == 0 or others.size == 0:
        raise ValueError(f"Need scores for both members and non-members, got {members.size} and {others.size}.")
    if not (np.isfinite(members).all() and np.isfinite(others).all()):
        raise ValueError("Scores must be finite; a NaN or infinite loss usually means a diverged model.")
    truth = np.concatenate([np.ones(members.size), np.zeros(others.size)])
    scores = np.concatenate([members, others])
    fpr, tpr, _ = metrics.roc_curve(truth, scores)
    low = [float(tpr[fpr <= rate].max()) for rate in (0.001, 0.01)]  # roc_curve starts at (0, 0): never empty
    return AttackResult(
        float(metrics.auc(fpr, tpr)), float(np.max(tpr - fpr)), *low, int(members.size), int(others.size)
    )


def one_run_p_value(num_canaries: int, num_guesses: int, num_correct: int, epsilon: float, delta: float) -> float:
    """Chance that an (ε, δ)-DP training run lets `num_correct` of `num_guesses` membership guesses be right, or more.

    Steinke, Nasr and Jagielski (2023), "Privacy auditing with one (1) training run", their main theorem for
    (ε, δ)-DP, computed as they describe: each of `num_canaries` canaries is included independently with probability
    1/2, and the auditor guesses in or out for `num_guesses` of them. Under (ε, 0)-DP the number of correct guesses
    is dominated by Binomial(r, e^ε / (1 + e^ε)); δ > 0 adds at most 2 m δ times the largest per-guess slack of that
    tail.
    """
    m, r, v = num_canaries, num_guesses, num_correct
    if not 0 <= v <= r <= m:
        raise ValueError(f"Need 0 <= correct <= guesses <= canaries, got {v}, {r}, {m}.")
    if epsilon < 0 or not 0 <= delta <= 1:
        raise ValueError(f"Need epsilon >= 0 and 0 <= delta <= 1, got {epsilon}, {delta}.")
    if v == 0:
        return 1.0
    p = 1.0 / (1.0 + math.exp(-epsilon))  # the best accuracy of one guess about an ε-DP coin
    tail = stats.binom.sf(v - 1, r, p)  # P[Binomial(r, p) >= v]
    slack, below = 0.0, 0.0
    for i in range(1, v + 1):  # below = P[v > Binomial(r, p) >= v - i]
        below += stats.binom.pmf(v - i, r, p)
        slack = max(slack, below / i)
    return float(min(1.0, tail + 2 * m * delta * slack))


def one_run_epsilon_lower_bound(
    num_canaries: int, num_guesses: int, num_correct: int, delta: float, confidence: float = 0.95
) -> float:
    """The largest ε that the guesses reject at `confidence`: the run is not (ε, δ)-DP for any smaller ε.

    0.0 means the guesses prove nothing (they are consistent with perfect privacy). The bound can never exceed
    what `num_guesses` all-correct guesses can show, whatever the run leaks: that is the price of one run.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}.")
    alpha = 1 - confidence
    if one_run_p_value(num_canaries, num_guesses, num_correct, 0.0, delta) >= alpha:
        return 0.0
    low, high = 0.0, 1.0
    while one_run_p_value(num_canaries, num_guesses, num_correct, high, delta) < alpha:
        low, high = high, 2 * high
        if high > 1e3:
            return math.inf  # cannot happen for finite guesses, but never loop forever
    for _ in range(60):  # bisection: p(low) < alpha <= p(high)
        middle = (low + high) / 2
        if one_run_p_value(num_canaries, num_guesses, num_correct, middle, delta) < alpha:
            low = middle
        else:
            high = middle
    return low
