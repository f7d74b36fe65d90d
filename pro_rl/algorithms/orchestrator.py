"""Training targets, loss and metrics of the Preference Orchestrator f(x) -> weights over K objectives.

- Targets (PRO eq. 7): for a prompt x with preferred response y+, w* = softmax(r(x, y+) / tau), where
  r = (r_1, ..., r_K) are the rewards of y+ (z-scored by the caller so the objectives share a scale).
- Loss (PRO eq. 8): the paper writes KL(f(x) || w*). Because tau = 0.1 on z-scored rewards makes w* nearly one-hot,
  the direction is configurable: "forward" is the paper's KL(f || w*) (mode-seeking), "reverse" is KL(w* || f), the
  soft cross-entropy up to a constant (mass-covering). log w* is floored at log(1e-12) so exact zeros in w* give a
  large finite penalty instead of inf.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from pro_rl.algorithms.simplex import argmax_agreement, weight_entropy

LOG_PROB_FLOOR = math.log(1e-12)
KL_DIRECTIONS = ("forward", "reverse")


def _check_same_2d(name_a: str, a: Tensor, name_b: str, b: Tensor) -> None:
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must both be (B, K), got {tuple(a.shape)} and {tuple(b.shape)}")


def _floored_log(probs: Tensor) -> Tensor:
    return torch.log(probs).clamp(min=LOG_PROB_FLOOR)


def categorical_kl(p: Tensor, log_p: Tensor, log_q: Tensor) -> Tensor:
    """KL(p || q) = sum_k p_k (log p_k - log q_k) per row.

    Args:
        p: (B, K) probabilities of the first distribution (rows sum to 1).
        log_p: (B, K) finite log p (floored where p is 0, so that 0 * log 0 counts as 0).
        log_q: (B, K) finite log q.

    Returns:
        (B,) divergences.
    """
    return (p * (log_p - log_q)).sum(dim=-1)


def orchestrator_targets(rewards: Tensor, tau: float = 0.1) -> Tensor:
    """Target weights w* = softmax(rewards / tau) (PRO eq. 7).

    Args:
        rewards: (B, K) normalised rewards of each prompt's preferred response.
        tau: temperature (> 0); small tau sharpens the targets toward one-hot.

    Returns:
        (B, K) rows summing to 1.
    """
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    if rewards.dim() != 2:
        raise ValueError(f"rewards must have shape (B, K), got {tuple(rewards.shape)}")
    return torch.softmax(rewards / tau, dim=-1)


def orchestrator_loss(logits: Tensor, targets: Tensor, direction: str = "forward") -> Tensor:
    """KL loss between the orchestrator's weights f(x) = softmax(logits) and the targets w* (PRO eq. 8).

    Args:
        logits: (B, K) orchestrator outputs before the softmax (with grad).
        targets: (B, K) target weights w* (``orchestrator_targets``).
        direction: "forward" = KL(f || w*), as written in the paper; "reverse" = KL(w* || f).

    Returns:
        Scalar loss, mean over the batch.
    """
    _check_same_2d("logits", logits, "targets", targets)
    log_weights = torch.log_softmax(logits, dim=-1)
    targets = targets.to(log_weights.dtype)
    log_targets = _floored_log(targets)
    if direction == "forward":
        divergence = categorical_kl(log_weights.exp(), log_weights, log_targets)
    elif direction == "reverse":
        divergence = categorical_kl(targets, log_targets, log_weights)
    else:
        raise ValueError(f"unknown KL direction {direction!r}; expected one of {KL_DIRECTIONS}")
    return divergence.mean()


def orchestrator_metrics(
    predicted_weights: Tensor, targets: Tensor, true_weights: Tensor | None = None
) -> dict[str, float]:
    """Evaluation numbers for the orchestrator.

    Args:
        predicted_weights: (B, K) f(x), rows summing to 1.
        targets: (B, K) target weights w*.
        true_weights: (B, K) optional ground-truth weights (e.g. of the toy world).

    Returns:
        ``kl``: mean KL(targets || predicted_weights) (the "reverse" direction, finite for one-hot targets);
        ``argmax_agreement``: share of rows where argmax of the prediction equals argmax of ``true_weights`` if given,
        else of ``targets`` (``argmax_agreement``); ``target_entropy``: mean entropy of the target rows in nats
        (``weight_entropy``). All three are computed in float64.
    """
    _check_same_2d("predicted_weights", predicted_weights, "targets", targets)
    with torch.no_grad():
        predicted = predicted_weights.detach().double()
        target = targets.detach().double()
        kl = categorical_kl(target, _floored_log(target), _floored_log(predicted)).mean()
        reference = targets if true_weights is None else true_weights
        _check_same_2d("predicted_weights", predicted_weights, "true_weights", reference)
        agreement = argmax_agreement(predicted, reference)
        entropy = weight_entropy(target).mean()
    return {"kl": float(kl), "argmax_agreement": agreement, "target_entropy": float(entropy)}
