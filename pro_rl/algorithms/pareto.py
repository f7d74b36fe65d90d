"""Pareto fronts and dominated hypervolume of multi-objective evaluation results.

Used to compare methods over a grid of preference weights (RiC/PRO evaluation): each point is the vector of mean
rewards (K objectives) that one weight setting reaches. Computed in numpy float64 on small point sets.

Hypervolume is exact, by slicing along the first objective and recursing on the remaining K - 1 (the cost grows like
N^(K-1), fine for the tens of points and K <= 4 of an evaluation grid).
"""

from __future__ import annotations

import numpy as np
import torch


def _as_point_array(points, name: str = "points") -> np.ndarray:
    if torch.is_tensor(points):
        points = points.detach().cpu().numpy()
    array = np.asarray(points, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f"{name} must have shape (N, K), got {array.shape}")
    return array


def pareto_mask(points, maximise: bool = True) -> np.ndarray:
    """Which points are non-dominated.

    Args:
        points: (N, K) array-like (list, numpy array or tensor).
        maximise: True if larger is better in every objective, False if smaller is.

    Returns:
        (N,) bool numpy array; True where no other point is at least as good in every objective and strictly better
        in one. Duplicated points do not dominate each other.
    """
    values = _as_point_array(points)
    if not maximise:
        values = -values
    at_least_as_good = (values[:, None, :] >= values[None, :, :]).all(axis=-1)  # [j, i]: j >= i everywhere
    strictly_better = (values[:, None, :] > values[None, :, :]).any(axis=-1)
    dominated = (at_least_as_good & strictly_better).any(axis=0)
    return ~dominated


def _hypervolume_recursive(points: np.ndarray, reference: np.ndarray) -> float:
    """Volume dominated by ``points`` (all strictly above ``reference``) above ``reference``."""
    if len(points) == 0:
        return 0.0
    if points.shape[1] == 1:
        return float(points[:, 0].max() - reference[0])
    # Slice along objective 0: between consecutive distinct levels, the cross-section is the (K-1)-dimensional
    # hypervolume of the points whose first coordinate reaches the upper level of the slice.
    levels = np.unique(points[:, 0])[::-1]
    lower_bounds = np.append(levels[1:], reference[0])
    volume = 0.0
    for level, lower in zip(levels, lower_bounds):
        reaching = points[points[:, 0] >= level, 1:]
        volume += (level - lower) * _hypervolume_recursive(reaching, reference[1:])
    return volume


def hypervolume(points, reference) -> float:
    """Hypervolume dominated by ``points`` with respect to ``reference``, for maximisation.

    Args:
        points: (N, K) array-like.
        reference: (K,) reference point; points not strictly better than it in every objective are ignored.

    Returns:
        The Lebesgue measure of the union of the boxes [reference, p] over the kept points (0.0 if none is kept).
    """
    values = _as_point_array(points)
    if torch.is_tensor(reference):
        reference = reference.detach().cpu().numpy()
    reference = np.asarray(reference, dtype=np.float64)
    if reference.shape != (values.shape[1],):
        raise ValueError(f"reference must have shape ({values.shape[1]},), got {reference.shape}")
    kept = values[(values > reference).all(axis=1)]
    kept = kept[pareto_mask(kept)] if len(kept) else kept
    return _hypervolume_recursive(kept, reference)
