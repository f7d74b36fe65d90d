"""Rejection sampling of the online stage of RiC and PRO-WIC (PRO eq. 11; RiC §3.2).

- ``quantile_filter``: keep a generated sample if, for at least one objective, its score is at or above that
  objective's q-quantile over the N samples of the iteration (RiC keeps q = 0.7). Quantiles use linear
  interpolation between order statistics (numpy's / torch's default).
- ``realised_weights``: kept rows are relabelled with the weights their own response earned,
  w = softmax(z / tau) — the same formula as the orchestrator targets (PRO eq. 7), reused from
  ``orchestrator_targets`` rather than written twice. (RiC relabels with the scores themselves; see
  ``pro_rl.data.conditioning.ric_prompt``.)
- ``entropy_matched_tau``: the τ at which those labels are, on average, as soft as a target entropy (for example
  the mean entropy of the orchestrator's outputs, so that PRO-WIC's labels cover the part of the simplex the
  orchestrator recommends); found by bisection on log τ, since each row's entropy grows with τ.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pro_rl.algorithms.orchestrator import orchestrator_targets
from pro_rl.algorithms.simplex import weight_entropy


def quantile_filter(reward_matrix: Tensor, q: float = 0.7) -> Tensor:
    """Which samples to keep: any objective's score >= that objective's q-quantile.

    Args:
        reward_matrix: (N, K) scores of N samples for K objectives (raw or normalised: per-column monotone
            transforms do not change the result).
        q: quantile in [0, 1].

    Returns:
        (N,) bool tensor.
    """
    if reward_matrix.dim() != 2 or reward_matrix.shape[0] == 0:
        raise ValueError(f"reward_matrix must be a non-empty (N, K) tensor, got {tuple(reward_matrix.shape)}")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be in [0, 1], got {q}")
    values = reward_matrix.to(torch.float64)
    thresholds = torch.quantile(values, q, dim=0)  # (K,)
    return (values >= thresholds).any(dim=1)


def realised_weights(normalised_rewards: Tensor, tau: float = 0.1) -> Tensor:
    """(N, K) weights w = softmax(z / tau) of each row's own normalised rewards z (PRO eq. 7 applied to a sample)."""
    return orchestrator_targets(normalised_rewards, tau)


def entropy_matched_tau(normalised_rewards: Tensor, target_entropy: float, low: float = 1e-3, high: float = 1e3,
                        iterations: int = 60) -> float:
    """The τ in [low, high] whose labels softmax(z / τ) have mean entropy ``target_entropy`` (nats).

    Args:
        normalised_rewards: (N, K) normalised rewards z of N rows.
        target_entropy: in [0, log K]; below the entropy reached at ``low`` gives ``low``, above that at ``high``
            gives ``high``.

    Returns:
        τ, bisected on log τ (the mean entropy of the rows' labels is non-decreasing in τ).
    """
    if normalised_rewards.dim() != 2 or normalised_rewards.shape[0] == 0:
        raise ValueError(f"normalised_rewards must be a non-empty (N, K) tensor, got {tuple(normalised_rewards.shape)}")
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high, got {low} and {high}")
    values = normalised_rewards.to(torch.float64)

    def mean_entropy(log_tau: float) -> float:
        return float(weight_entropy(realised_weights(values, math.exp(log_tau))).mean())

    log_low, log_high = math.log(low), math.log(high)
    if target_entropy <= mean_entropy(log_low):
        return low
    if target_entropy >= mean_entropy(log_high):
        return high
    for _ in range(iterations):
        middle = (log_low + log_high) / 2
        log_low, log_high = (middle, log_high) if mean_entropy(middle) < target_entropy else (log_low, middle)
    return math.exp((log_low + log_high) / 2)
