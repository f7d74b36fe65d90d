"""Bradley–Terry loss of a prompt → weights gate over fixed reward models (the ArmoRM-style router).

A gate w(x) = softmax(logits(x)) mixes K fixed rewards into one score s(x, y) = Σ_k w_k(x) r̃_k(x, y), where r̃ are the
reward models' scores z-scored per objective. It is trained so that this score ranks the pairs of D_rm like the
labels do, with the Bradley–Terry likelihood of PRO eq. 2 applied to the mixed score:

    loss = mean( -log σ(β · Σ_k w_k(x) (r̃_k(x, y⁺) - r̃_k(x, y⁻))) )

β > 0 sets the scale of the mixed difference inside the sigmoid (ArmoRM learns such a scale; here it is fixed). Unlike
PRO's orchestrator (eqs. 7–8), whose targets come from the preferred response alone, the gate sees both responses
of each pair: it learns the weights under which the labelled choice is most likely.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def gate_margins(weights: Tensor, chosen_rewards: Tensor, rejected_rewards: Tensor) -> Tensor:
    """Σ_k w_k (r⁺_k - r⁻_k) per pair.

    Args:
        weights: (B, K) gate weights, rows on the simplex.
        chosen_rewards: (B, K) normalised rewards of the preferred responses.
        rejected_rewards: (B, K) normalised rewards of the other responses.

    Returns:
        (B,) margins of the mixed score.
    """
    if not (weights.dim() == 2 and weights.shape == chosen_rewards.shape == rejected_rewards.shape):
        raise ValueError(f"weights, chosen and rejected rewards must all be (B, K), got {tuple(weights.shape)}, "
                         f"{tuple(chosen_rewards.shape)} and {tuple(rejected_rewards.shape)}")
    difference = (chosen_rewards - rejected_rewards).to(weights.dtype)
    return (weights * difference).sum(dim=-1)


def gate_bradley_terry_loss(logits: Tensor, chosen_rewards: Tensor, rejected_rewards: Tensor,
                            beta: float = 1.0) -> Tensor:
    """Mean Bradley–Terry loss of the gate's mixed score (module docstring).

    Args:
        logits: (B, K) gate outputs before the softmax (with grad).
        chosen_rewards: (B, K) normalised rewards r̃(x, y⁺) of the fixed reward models.
        rejected_rewards: (B, K) normalised rewards r̃(x, y⁻).
        beta: scale β > 0 of the mixed margin.

    Returns:
        Scalar loss ``mean(-log σ(β · margin))``.
    """
    if beta <= 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    margins = gate_margins(torch.softmax(logits, dim=-1), chosen_rewards, rejected_rewards)
    return -F.logsigmoid(beta * margins).mean()
