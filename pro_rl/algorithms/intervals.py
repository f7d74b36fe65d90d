"""Confidence intervals of a mean by the percentile bootstrap (Efron & Tibshirani, ch. 13).

Used by the evaluations that report a mean over held-out prompts with its uncertainty (e.g. MOSLIM's
controllability, one interval per objective and requested intensity). The resampling unit is a row (a prompt):
``resamples`` times, N rows are drawn with replacement and their mean is taken; the interval is the
((1 − level)/2, (1 + level)/2) quantiles of those means (linear interpolation between order statistics, torch's
``quantile`` default). A constant input gives the degenerate interval [c, c]. The generator is seeded, so the same
input gives the same interval. ``paired_difference_interval`` is the same bootstrap on the per-row differences of
two measurements of the same rows (method − baseline on the same prompts).
"""

from __future__ import annotations

from typing import Tuple

import torch
from torch import Tensor


def bootstrap_mean_interval(values: Tensor, level: float = 0.95, resamples: int = 1000,
                            seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    """(mean, low, high) of the rows' mean, with a percentile-bootstrap interval at confidence ``level``.

    Args:
        values: (N,) or (N, D) float tensor, N ≥ 1 rows (e.g. prompts) of D statistics each.
        level: confidence level in (0, 1), e.g. 0.95.
        resamples: number of bootstrap resamples B ≥ 1.
        seed: seed of the resampling generator.

    Returns:
        three float64 tensors of shape () for (N,) input, (D,) for (N, D) input: the sample mean, and the lower and
        upper quantiles of the B resampled means.
    """
    if values.dim() not in (1, 2) or values.shape[0] < 1:
        raise ValueError(f"values must have shape (N,) or (N, D) with N >= 1, got {tuple(values.shape)}")
    if not 0.0 < level < 1.0 or resamples < 1:
        raise ValueError(f"need 0 < level < 1 and resamples >= 1, got level {level}, resamples {resamples}")
    rows = values.detach().to(torch.float64)
    generator = torch.Generator().manual_seed(seed)
    indices = torch.randint(0, rows.shape[0], (resamples, rows.shape[0]), generator=generator)
    resampled_means = rows[indices].mean(dim=1)  # (B,) or (B, D)
    tail = (1.0 - level) / 2.0
    quantiles = torch.quantile(resampled_means, torch.tensor([tail, 1.0 - tail], dtype=torch.float64), dim=0)
    return rows.mean(dim=0), quantiles[0], quantiles[1]


def paired_difference_interval(values: Tensor, baseline: Tensor, level: float = 0.95, resamples: int = 1000,
                               seed: int = 0) -> Tuple[Tensor, Tensor, Tensor]:
    """(mean, low, high) of the mean paired difference ``values − baseline`` over rows, with a percentile-bootstrap
    interval: the rows are resampled together (row i of both inputs is the same prompt), so the interval reflects
    how the two differ prompt by prompt, not the spread of each mean. Identical inputs give [0, 0].

    Args:
        values, baseline: (N,) or (N, D) float tensors of the same shape, row i of both measured on the same unit.
        level, resamples, seed: as ``bootstrap_mean_interval``.
    """
    if values.shape != baseline.shape:
        raise ValueError(f"paired values need the same shape, got {tuple(values.shape)} and {tuple(baseline.shape)}")
    return bootstrap_mean_interval(values.to(torch.float64) - baseline.to(torch.float64), level, resamples, seed)
