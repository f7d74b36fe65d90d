"""Rejection sampling of the online stage of RiC and PRO-WIC (PRO eq. 11; RiC §3.2).

- ``quantile_filter``: keep a generated sample if, for at least one objective, its score is at or above that
  objective's q-quantile over the N samples of the iteration (RiC keeps q = 0.7). Quantiles use linear
  interpolation between order statistics (numpy's / torch's default).
- ``realised_weights``: kept rows are relabelled with the weights their own response earned,
  w = softmax(z / tau) — the same formula as the orchestrator targets (PRO eq. 7), reused from
  ``orchestrator_targets`` rather than written twice. (RiC relabels with the scores themselves; see
  ``pro_rl.data.conditioning.ric_prompt``.)
"""

from __future__ import annotations

import torch
from torch import Tensor

from pro_rl.algorithms.orchestrator import orchestrator_targets


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
