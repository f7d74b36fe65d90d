"""Online DPO / IPO for PRO-MORLHF (eq. 9): pick a pair per prompt by scalarised reward, then a preference loss.

From the n samples of a prompt, the one with the highest scalarised reward (eq. 9) is "chosen" and the one with the
lowest is "rejected" (TRL's online DPO), both among the prompt's valid samples: a sample whose reward was NaN/inf
(skipped) is never picked, and a prompt with fewer than 2 valid samples gets the pair (i, i), whose loss has zero
gradient. With sequence-summed log-probs,

    logits = (log pi(y_c) - log pi(y_r)) - (log pi_ref(y_c) - log pi_ref(y_r))
    sigmoid (DPO, Rafailov et al. 2023):  L = mean( -log sigmoid(beta * logits) )
    ipo (Azar et al. 2023):               L = mean( (logits - 1 / (2 beta))^2 )
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

DPO_LOSS_TYPES = ("sigmoid", "ipo")


def select_best_worst(scalarised: Tensor, num_samples: int, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Indices of the best and worst valid sample of each prompt's group.

    Args:
        scalarised: (B * n,) scalarised rewards, the n samples of a prompt contiguous.
        num_samples: n (>= 2).
        valid: (B * n,) bool, False for samples that may not be picked; ``None``: all valid.

    Returns:
        ``(chosen_index, rejected_index)``, LongTensors (B,) of indices into the flat batch. Ties: chosen is the
        first maximum, rejected the last minimum, so the two differ even when a group's rewards are all equal.
        A group with fewer than 2 valid samples gets rejected = chosen (its first valid sample, else its first).
    """
    if num_samples < 2:
        raise ValueError(f"a preference pair needs at least 2 samples per prompt, got num_samples={num_samples}")
    if scalarised.dim() != 1 or scalarised.shape[0] % num_samples != 0:
        raise ValueError(f"scalarised must have shape (B * {num_samples},), got {tuple(scalarised.shape)}")
    grouped = scalarised.view(-1, num_samples)
    group_start = torch.arange(grouped.shape[0], device=scalarised.device) * num_samples
    if valid is None:
        for_max = for_min = grouped
    else:
        valid_grouped = valid.view(-1, num_samples)
        for_max = torch.where(valid_grouped, grouped, torch.full_like(grouped, -math.inf))
        for_min = torch.where(valid_grouped, grouped, torch.full_like(grouped, math.inf))
    first_max = torch.argmax(for_max, dim=1)  # argmax returns the first maximal index
    last_min = num_samples - 1 - torch.argmin(for_min.flip(dims=[1]), dim=1)
    if valid is not None:
        too_few = valid_grouped.sum(dim=1) < 2
        first_max = torch.where(too_few, valid_grouped.to(torch.long).argmax(dim=1), first_max)
        last_min = torch.where(too_few, first_max, last_min)
    return (group_start + first_max).long(), (group_start + last_min).long()


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    ref_chosen_logps: Tensor,
    ref_rejected_logps: Tensor,
    beta: float = 0.1,
    loss_type: str = "sigmoid",
) -> tuple[Tensor, dict[str, float]]:
    """DPO (sigmoid) or IPO loss over (B,) preference pairs.

    Args:
        policy_chosen_logps, policy_rejected_logps: (B,) summed response log-probs under the policy (with grad).
        ref_chosen_logps, ref_rejected_logps: (B,) the same under the reference model.
        beta: DPO temperature / IPO regularisation strength.
        loss_type: "sigmoid" or "ipo".

    Returns:
        ``(loss, stats)``: scalar loss (mean over pairs); stats ``reward_margin`` (mean of beta * logits, the gap
        of the implicit rewards) and ``accuracy`` (share of pairs with logits > 0).
    """
    logits = (policy_chosen_logps - policy_rejected_logps) - (ref_chosen_logps - ref_rejected_logps)
    if loss_type == "sigmoid":
        loss = -F.logsigmoid(beta * logits).mean()
    elif loss_type == "ipo":
        loss = ((logits - 1.0 / (2.0 * beta)) ** 2).mean()
    else:
        raise ValueError(f"unknown DPO loss_type {loss_type!r}; expected one of {DPO_LOSS_TYPES}")
    with torch.no_grad():
        reward_margin = (beta * logits).mean()
        accuracy = (logits > 0).to(logits.dtype).mean()
    return loss, {"reward_margin": float(reward_margin), "accuracy": float(accuracy)}
