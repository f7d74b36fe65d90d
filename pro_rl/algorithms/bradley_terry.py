"""Bradley-Terry reward-model loss (PRO eq. 2).

A reward model r is trained on preference pairs (x, y+, y-) by maximising the probability
P(y+ > y- | x) = sigmoid(r(x, y+) - r(x, y-)), i.e. minimising  mean( -log sigmoid(r+ - r-) ).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def bradley_terry_loss(chosen_rewards: Tensor, rejected_rewards: Tensor) -> Tensor:
    """Mean negative log-likelihood of the preferences under Bradley-Terry (eq. 2).

    Args:
        chosen_rewards: (B,) rewards r(x, y+) of the preferred responses.
        rejected_rewards: (B,) rewards r(x, y-) of the other responses.

    Returns:
        Scalar loss ``mean(-log sigmoid(chosen - rejected))``.
    """
    if chosen_rewards.shape != rejected_rewards.shape:
        raise ValueError(
            f"chosen {tuple(chosen_rewards.shape)} and rejected {tuple(rejected_rewards.shape)} must match"
        )
    return -F.logsigmoid(chosen_rewards - rejected_rewards).mean()


def pair_accuracy(chosen_rewards: Tensor, rejected_rewards: Tensor) -> float:
    """Share of (B,) pairs where the chosen response gets the strictly higher reward."""
    if chosen_rewards.shape != rejected_rewards.shape:
        raise ValueError(
            f"chosen {tuple(chosen_rewards.shape)} and rejected {tuple(rejected_rewards.shape)} must match"
        )
    return float((chosen_rewards > rejected_rewards).float().mean())
