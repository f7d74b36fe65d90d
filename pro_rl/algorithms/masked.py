"""Statistics over the real (unpadded) positions of a batch.

``mask`` is 1 (or True) at real tokens and 0 at padding. These helpers underlie every masked loss and the whitening
of PPO advantages; they hold no paper equation of their own.
"""

from __future__ import annotations

import torch
from torch import Tensor


def masked_mean(x: Tensor, mask: Tensor, dim: int | None = None) -> Tensor:
    """Mean of ``x`` over positions where ``mask`` is 1.

    Args:
        x: tensor of any shape, e.g. (B, T).
        mask: same shape as ``x``.
        dim: reduce over this dimension only; ``None`` reduces over all of them.

    Returns:
        A scalar, or ``x`` with ``dim`` removed. An all-masked slice gives 0, not NaN.
    """
    if x.shape != mask.shape:
        raise ValueError(f"x {tuple(x.shape)} and mask {tuple(mask.shape)} must have the same shape")
    mask = mask.to(x.dtype)
    if dim is None:
        return (x * mask).sum() / mask.sum().clamp(min=1.0)
    return (x * mask).sum(dim=dim) / mask.sum(dim=dim).clamp(min=1.0)


def masked_var(x: Tensor, mask: Tensor, unbiased: bool = True) -> Tensor:
    """Variance of ``x`` over all positions where ``mask`` is 1 (a scalar).

    With ``unbiased`` the sum of squared deviations is divided by (n - 1), which needs n >= 2.
    """
    mean = masked_mean(x, mask)
    sum_sq_dev = (((x - mean) ** 2) * mask.to(x.dtype)).sum()
    count = mask.to(x.dtype).sum()
    if unbiased:
        if count < 2:
            raise ValueError(f"unbiased masked_var needs at least 2 unmasked values, got {int(count)}")
        return sum_sq_dev / (count - 1)
    return sum_sq_dev / count.clamp(min=1.0)


def masked_whiten(x: Tensor, mask: Tensor, shift_mean: bool = True, epsilon: float = 1e-8) -> Tensor:
    """Scale ``x`` to unit (unbiased) variance over the masked positions, and zero mean if ``shift_mean``.

    Returns a tensor of the shape of ``x``; values at padded positions are transformed too and should be ignored.
    """
    mean = masked_mean(x, mask)
    var = masked_var(x, mask, unbiased=True)
    whitened = (x - mean) * torch.rsqrt(var + epsilon)
    if not shift_mean:
        whitened = whitened + mean
    return whitened
