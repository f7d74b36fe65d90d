"""Linear scalarisation of a reward matrix with per-sample weights.

Implements PRO eq. 4, r(x, y) = sum_k w_k r_k(x, y), and its per-prompt form used by PRO-MORLHF (eq. 9), where the
weights w come from the orchestrator f(x) and so differ from one sample to the next. Rewards are scalarised as
given: normalising them first (``RunningNormaliser.normalise``) is the caller's step.
"""

from __future__ import annotations

from torch import Tensor


def scalarise(rewards: Tensor, weights: Tensor) -> Tensor:
    """Weighted sum of the objectives per sample (PRO eq. 4 / eq. 9).

    Args:
        rewards: (B, K) reward matrix, one column per objective.
        weights: (B, K) per-sample objective weights (usually rows summing to one).

    Returns:
        (B,) scalarised reward, ``sum_k weights[b, k] * rewards[b, k]``.

    Raises:
        ValueError: if either input is not 2-D or the shapes differ.
    """
    if rewards.dim() != 2:
        raise ValueError(f"rewards must have shape (B, K), got {tuple(rewards.shape)}")
    if weights.shape != rewards.shape:
        raise ValueError(
            f"weights must have the shape of rewards {tuple(rewards.shape)}, got {tuple(weights.shape)}"
        )
    return (rewards * weights.to(rewards.dtype)).sum(dim=-1)
