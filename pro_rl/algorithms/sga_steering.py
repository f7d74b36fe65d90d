"""SGA steering and its evaluation: the weights → scores rule and the win rate (snapping ŝ to the annotation grid
is ``pro_rl.algorithms.sga.snap_scores``).

- ``scores_from_weights``: the rule that turns a preference weight vector w (a point of the simplex, as in the
  weight-grid evaluation of the other methods) into the K scores an SGA policy is conditioned on. It is RiC's
  preference-to-reward mapping (``pro_rl.data.conditioning.ric_targets_from_weights``) over SGA's score range
  [0, 1]: s_k = 1 when w_k ≥ 1/K, else K·w_k. So the one-hot w = e_k asks for full marks on objective k and 0 on
  the others, equal weights ask for full marks on every objective, and (0.7, 0.15, 0.15) gives (1, 0.45, 0.45).
- ``win_rate`` (SGA Table 5): the fraction of paired comparisons a method's responses win against a baseline's
  responses to the same prompts, judged by a scalar reward; a tie counts one half.
"""

from __future__ import annotations

from typing import List, Sequence

from torch import Tensor

from pro_rl.data.conditioning import ric_targets_from_weights


def scores_from_weights(weights: Sequence[float]) -> List[float]:
    """The K scores in [0, 1] an SGA policy is steered with for the weight vector ``weights`` (see the module doc)."""
    num_objectives = len(weights)
    return ric_targets_from_weights(weights, [0.0] * num_objectives, [1.0] * num_objectives)


def win_rate(method_rewards: Tensor, baseline_rewards: Tensor) -> float:
    """Mean over pairs of 1 (method's reward higher), 0.5 (equal) or 0 (lower).

    Args:
        method_rewards: (N,) scalar rewards of the method's responses.
        baseline_rewards: (N,) scalar rewards of the baseline's responses, paired row by row.
    """
    if method_rewards.shape != baseline_rewards.shape or method_rewards.dim() != 1 or method_rewards.numel() == 0:
        raise ValueError(f"win_rate needs two non-empty (N,) tensors of one shape, got {tuple(method_rewards.shape)} "
                         f"and {tuple(baseline_rewards.shape)}")
    method, baseline = method_rewards.double(), baseline_rewards.double()
    outcome = (method > baseline).double() + 0.5 * (method == baseline).double()
    return float(outcome.mean())
