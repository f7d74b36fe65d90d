"""Statistics of weight vectors on the probability simplex: entropy and argmax agreement.

A weight matrix (B, K) holds one weight vector per row (orchestrator outputs f(x), PRO targets w*, the toy world's
true weights, RiC/WIC tag labels). These two numbers are logged wherever such a matrix appears:

- entropy H(w) = -sum_k w_k log w_k per row, in nats; log w_k is taken of max(w_k, 1e-12), so an exact zero
  weight contributes 0 (the limit of w log w) and the result is always finite;
- argmax agreement = share of rows whose largest weight sits on the same objective in two matrices (ties go to the
  first objective, as ``torch.argmax`` breaks them).
"""

from __future__ import annotations

from torch import Tensor

PROB_FLOOR = 1e-12


def _check_weight_matrix(name: str, weights: Tensor) -> None:
    if weights.dim() != 2:
        raise ValueError(f"{name} must have shape (B, K), got {tuple(weights.shape)}")


def weight_entropy(weights: Tensor) -> Tensor:
    """Entropy of each row of a weight matrix, H(w) = -sum_k w_k log max(w_k, 1e-12).

    Args:
        weights: (B, K) rows on the simplex (non-negative, summing to 1).

    Returns:
        (B,) entropies in nats, in the dtype of ``weights``: 0 for a one-hot row, log K for a uniform row.
    """
    _check_weight_matrix("weights", weights)
    return -(weights * weights.clamp_min(PROB_FLOOR).log()).sum(dim=-1)


def argmax_agreement(weights: Tensor, reference_weights: Tensor) -> float:
    """Share of rows where ``argmax_k weights[b, k] == argmax_k reference_weights[b, k]``.

    Args:
        weights: (B, K) predicted weights (or any scores: only the argmax is used).
        reference_weights: (B, K) weights to compare with (targets w*, or true weights).

    Returns:
        A float in [0, 1]; NaN when B == 0.
    """
    _check_weight_matrix("weights", weights)
    _check_weight_matrix("reference_weights", reference_weights)
    if weights.shape != reference_weights.shape:
        raise ValueError(
            f"weights and reference_weights must have the same shape, got {tuple(weights.shape)} and "
            f"{tuple(reference_weights.shape)}"
        )
    matches = weights.argmax(dim=-1) == reference_weights.argmax(dim=-1)
    return float(matches.double().mean())
