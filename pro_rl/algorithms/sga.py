"""SGA (Self-Guided Alignment) losses: the LM's loss plus λ times the score head's regression loss.

The score head predicts μ_θ(x) ∈ [0, 1]^K from the raw prompt x; its loss is the mean squared error

    L_MSE = mean over the batch and the K objectives of (s_k − μ_θ(x)_k)²

(the paper writes ‖s − μ_θ(x)‖², eq. 5; the mean over the K entries differs from it by the constant 1/K, which λ
absorbs). With it:

    SFT variant (eq. 7):  L = L_CE + λ · L_MSE                      (λ = 1000 in the paper)
    DPO variant (eq. 9):  L = a · L_DPO + λ · L_MSE                 (paper: a = 1; the released code: a = 0.1, λ = 0.9)

L_CE is the caller's token cross-entropy of the response given the score-conditioned prompt; L_DPO is
``pro_rl.algorithms.dpo.dpo_loss`` on summed log-probs of the chosen and rejected responses given the prompt
conditioned on the chosen response's scores (eq. 20).

At inference the predicted scores may be snapped to the annotation grid (``snap_scores``: HelpSteer2's ratings
0–4 give the grid {0, 0.25, 0.5, 0.75, 1}, SGA §4.3.2).
"""

from __future__ import annotations

from typing import Dict, Tuple

import torch
from torch import Tensor

from pro_rl.algorithms.dpo import dpo_loss


def score_mse(predicted: Tensor, target: Tensor) -> Tensor:
    """L_MSE: mean of (target − predicted)² over all entries.

    Args:
        predicted: (B, K) head outputs μ_θ(x) in [0, 1].
        target: (B, K) score targets s in [0, 1].

    Returns:
        Scalar tensor (differentiable through ``predicted``), computed in float32 or wider.
    """
    if predicted.shape != target.shape or predicted.dim() != 2:
        raise ValueError(f"predicted and target must both be (B, K), got {tuple(predicted.shape)} and "
                         f"{tuple(target.shape)}")
    dtype = torch.promote_types(predicted.dtype, torch.float32)
    return ((predicted.to(dtype) - target.to(dtype)) ** 2).mean()


def sga_sft_loss(ce: Tensor, predicted: Tensor, target: Tensor, lam: float) -> Tuple[Tensor, Dict[str, float]]:
    """Eq. 7: ``ce + lam · score_mse(predicted, target)``.

    Args:
        ce: scalar cross-entropy of the responses (mean over response tokens).
        predicted, target: (B, K), see ``score_mse``.
        lam: λ > 0.

    Returns:
        ``(loss, stats)`` with stats ``ce``, ``mse`` and ``loss`` as floats.
    """
    mse = score_mse(predicted, target)
    loss = ce + lam * mse
    return loss, {"ce": ce.item(), "mse": mse.item(), "loss": loss.item()}


def sga_dpo_loss(policy_chosen_logps: Tensor, policy_rejected_logps: Tensor, ref_chosen_logps: Tensor,
                 ref_rejected_logps: Tensor, predicted: Tensor, target: Tensor, beta: float, lam: float,
                 dpo_weight: float = 1.0, loss_type: str = "sigmoid") -> Tuple[Tensor, Dict[str, float]]:
    """Eq. 9: ``dpo_weight · L_DPO + lam · score_mse(predicted, target)``.

    Args:
        policy_chosen_logps, policy_rejected_logps: (B,) summed response log-probs under the policy, given the
            prompt conditioned on the chosen response's scores.
        ref_chosen_logps, ref_rejected_logps: (B,) the same under the reference model.
        predicted, target: (B, K), see ``score_mse``.
        beta: DPO β. lam: λ. dpo_weight: the weight of L_DPO (1 in the paper, 0.1 in the released code).
        loss_type: "sigmoid" (DPO) or "ipo", as ``dpo_loss`` takes.

    Returns:
        ``(loss, stats)`` with stats ``dpo``, ``mse``, ``loss``, ``reward_margin`` and ``accuracy``.
    """
    preference, dpo_stats = dpo_loss(policy_chosen_logps, policy_rejected_logps, ref_chosen_logps,
                                     ref_rejected_logps, beta=beta, loss_type=loss_type)
    mse = score_mse(predicted, target)
    loss = dpo_weight * preference + lam * mse
    return loss, {"dpo": preference.item(), "mse": mse.item(), "loss": loss.item(), **dpo_stats}


def snap_scores(scores: Tensor, grid: int) -> Tensor:
    """Scores rounded to the nearest multiple of 1/``grid`` (half to even), clamped to [0, 1]; ``grid`` 0: unchanged.

    Args:
        scores: (B, K) predicted scores ŝ.
        grid: number of grid steps between 0 and 1 (``sga.snap_grid``; 4 for HelpSteer2's 0–4 ratings).
    """
    if grid < 0:
        raise ValueError(f"grid must be >= 0, got {grid}")
    if grid == 0:
        return scores
    return (torch.round(scores * grid) / grid).clamp(0.0, 1.0)
