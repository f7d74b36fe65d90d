"""Token log-probabilities from model logits, and their masked sums.

These produce the log pi(y_t | x, y_<t) that every RL loss here consumes (PPO per token; RLOO and DPO summed per
sequence). The caller aligns logits and labels: logits at position t must predict labels[t] (shift by one for a causal
LM).
"""

from __future__ import annotations

import torch
from torch import Tensor


def sequence_token_logprobs(logits: Tensor, labels: Tensor) -> Tensor:
    """log softmax(logits)[label] at every position.

    Args:
        logits: (B, T, V) already aligned with ``labels``.
        labels: (B, T) token ids (padding ids must still be valid indices; mask them afterwards).

    Returns:
        (B, T) log-probabilities, in float32 or wider (bf16/fp16 logits are upcast for the softmax).
    """
    if logits.dim() != 3 or labels.shape != logits.shape[:2]:
        raise ValueError(
            f"expected logits (B, T, V) and labels (B, T), got {tuple(logits.shape)}, {tuple(labels.shape)}"
        )
    compute_dtype = torch.promote_types(logits.dtype, torch.float32)
    log_probs = torch.log_softmax(logits.to(compute_dtype), dim=-1)
    return torch.gather(log_probs, dim=-1, index=labels.long().unsqueeze(-1)).squeeze(-1)


def sum_masked(x: Tensor, mask: Tensor) -> Tensor:
    """Sum of (B, T) ``x`` over positions where ``mask`` is 1; returns (B,) (e.g. sequence log-probs)."""
    if x.shape != mask.shape:
        raise ValueError(f"x {tuple(x.shape)} and mask {tuple(mask.shape)} must have the same shape")
    return (x * mask.to(x.dtype)).sum(dim=-1)
