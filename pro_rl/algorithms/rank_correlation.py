"""Spearman's rank correlation ρ (Spearman 1904), with average ranks for ties.

ρ is Pearson's correlation of the ranks: ρ = Σ (a_i − ā)(b_i − b̄) / sqrt(Σ (a_i − ā)² · Σ (b_i − b̄)²), where a and b
are the ranks of x and y (1..N; tied values share the mean of the ranks they span). Used as the monotonicity score of
a controllability evaluation: how consistently a measured quantity rises with a requested level. A constant x or y
has no ranking, and ρ is then NaN (undefined), never a made-up 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def average_ranks(values: Tensor) -> Tensor:
    """(N,) float64 ranks 1..N of ``values`` (N,), ties given the mean of the ranks they span."""
    flat = values.detach().to(torch.float64).reshape(-1)
    order = torch.argsort(flat, stable=True)
    ranks = torch.empty_like(flat)
    ranks[order] = torch.arange(1, flat.numel() + 1, dtype=torch.float64)
    for value in torch.unique(flat):
        tied = flat == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman_rho(x: Tensor, y: Tensor) -> float:
    """Spearman's ρ of the paired samples x (N,) and y (N,); NaN when N < 2 or either side is constant."""
    if x.numel() != y.numel():
        raise ValueError(f"x and y must pair up, got {x.numel()} and {y.numel()} values")
    if x.numel() < 2:
        return math.nan
    a, b = average_ranks(x), average_ranks(y)
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return math.nan if denominator == 0.0 else float((a * b).sum()) / denominator
