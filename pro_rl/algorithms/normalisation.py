"""Per-objective reward normalisation.

``zscore`` is the one z-scoring formula, z = (r - mean) / std per column; two ways to get its statistics for a reward
matrix (B, K):

- ``RunningNormaliser`` keeps a running mean and variance per objective over the batches seen during RL, merging each
  new batch with the parallel-variance formula of Chan et al. (the batch form of Welford's update). Statistics are
  kept in float64 so that long runs do not drift.
- ``zscore_stats`` gives fixed mean/std over a whole dataset, as RiC does for its reward tags and as the orchestrator
  target computation (PRO eq. 7 takes z-scored rewards) does.

Simplification: the running normaliser uses the population variance (divide by the count) and, until it has seen
two rewards, only subtracts the mean (std taken as 1).
"""

from __future__ import annotations

import torch
from torch import Tensor


def _check_reward_matrix(rewards: Tensor, num_objectives: int | None = None) -> None:
    if rewards.dim() != 2:
        raise ValueError(f"rewards must have shape (B, K), got {tuple(rewards.shape)}")
    if num_objectives is not None and rewards.shape[1] != num_objectives:
        raise ValueError(f"expected {num_objectives} objectives, got rewards of shape {tuple(rewards.shape)}")


def zscore_stats(rewards: Tensor) -> tuple[Tensor, Tensor]:
    """Fixed per-objective mean and standard deviation of a dataset's rewards.

    Args:
        rewards: (N, K) rewards of N rows for K objectives.

    Returns:
        ``(mean, std)``, each (K,), in the dtype of ``rewards``. ``std`` is the population std (divide by N); a
        column with zero spread (or N == 1) gets std 1 so that z-scoring it only centres it.
    """
    _check_reward_matrix(rewards)
    if rewards.shape[0] == 0:
        raise ValueError("zscore_stats needs at least one row")
    values = rewards.to(torch.float64)
    mean = values.mean(dim=0)
    std = values.var(dim=0, unbiased=False).sqrt()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return mean.to(rewards.dtype), std.to(rewards.dtype)


def zscore(rewards: Tensor, mean: Tensor, std: Tensor) -> Tensor:
    """Column-wise z-scores z[n, k] = (rewards[n, k] - mean[k]) / std[k].

    Args:
        rewards: (N, K) rewards of N rows for K objectives.
        mean: (K,) per-objective mean (from ``zscore_stats``, a saved copy of it, or ``RunningNormaliser``).
        std: (K,) per-objective scale, non-zero.

    Returns:
        (N, K) z-scores, in the dtype torch promotion gives ``rewards``, ``mean`` and ``std`` (no cast is made, so
        callers pick the precision).
    """
    if mean.dim() != 1 or mean.shape != std.shape:
        raise ValueError(f"mean and std must both be (K,), got {tuple(mean.shape)} and {tuple(std.shape)}")
    _check_reward_matrix(rewards, mean.shape[0])
    return (rewards - mean) / std


class RunningNormaliser:
    """Running per-objective mean/variance, used to z-score rewards before scalarisation.

    Args:
        num_objectives: K, the number of reward columns.
        epsilon: added to the variance before the square root in ``normalise``.
    """

    def __init__(self, num_objectives: int, epsilon: float = 1e-8):
        if num_objectives < 1:
            raise ValueError(f"num_objectives must be >= 1, got {num_objectives}")
        self.num_objectives = num_objectives
        self.epsilon = epsilon
        self._count = 0
        self._mean = torch.zeros(num_objectives, dtype=torch.float64)
        self._sum_sq_dev = torch.zeros(num_objectives, dtype=torch.float64)  # M2: sum of squared deviations

    @property
    def count(self) -> int:
        """Number of reward rows seen so far."""
        return self._count

    @property
    def mean(self) -> Tensor:
        """(K,) running mean, float64."""
        return self._mean.clone()

    @property
    def var(self) -> Tensor:
        """(K,) running population variance, float64 (zeros before any update)."""
        if self._count == 0:
            return torch.zeros_like(self._mean)
        return self._sum_sq_dev / self._count

    @property
    def std(self) -> Tensor:
        """(K,) running std, float64; ones while fewer than two rows have been seen."""
        if self._count < 2:
            return torch.ones_like(self._mean)
        return self.var.sqrt()

    def update(self, rewards: Tensor) -> None:
        """Merge a batch (B, K) into the running statistics (Chan et al. parallel update)."""
        _check_reward_matrix(rewards, self.num_objectives)
        batch_count = rewards.shape[0]
        if batch_count == 0:
            return
        batch = rewards.detach().to(device="cpu", dtype=torch.float64)
        batch_mean = batch.mean(dim=0)
        batch_sum_sq_dev = ((batch - batch_mean) ** 2).sum(dim=0)
        total = self._count + batch_count
        delta = batch_mean - self._mean
        self._mean = self._mean + delta * (batch_count / total)
        self._sum_sq_dev = self._sum_sq_dev + batch_sum_sq_dev + delta**2 * (self._count * batch_count / total)
        self._count = total

    def normalise(self, rewards: Tensor) -> Tensor:
        """Z-score (B, K) rewards with the running stats: ``(r - mean) / sqrt(var + epsilon)``.

        With fewer than two rows seen, only the mean is subtracted. Returns (B, K) in the dtype and device of
        ``rewards``.
        """
        _check_reward_matrix(rewards, self.num_objectives)
        if self._count < 2:
            scale = torch.ones_like(self._mean)
        else:
            scale = (self.var + self.epsilon).sqrt()
        normalised = zscore(rewards.to(torch.float64), self._mean.to(rewards.device), scale.to(rewards.device))
        return normalised.to(rewards.dtype)

    def state_dict(self) -> dict:
        """JSON-serialisable state: plain floats and lists."""
        return {
            "num_objectives": self.num_objectives,
            "epsilon": float(self.epsilon),
            "count": int(self._count),
            "mean": self._mean.tolist(),
            "sum_sq_dev": self._sum_sq_dev.tolist(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned."""
        if int(state["num_objectives"]) != self.num_objectives:
            raise ValueError(
                f"state has {state['num_objectives']} objectives, this normaliser has {self.num_objectives}"
            )
        self.epsilon = float(state["epsilon"])
        self._count = int(state["count"])
        self._mean = torch.tensor(state["mean"], dtype=torch.float64)
        self._sum_sq_dev = torch.tensor(state["sum_sq_dev"], dtype=torch.float64)
