"""MORA's formulas (Huang et al. 2026, "Explaining and Breaking the Safety-Helpfulness Ceiling", Fig. 3): target
mining statistics, single-reward detection, max-margin pairs, and the referee's two measures.

Rewards come as an (N * n, K) matrix: n samples of each of N prompts, contiguous per prompt, K objectives.

Step 1, target mining (``prompt_statistics``): per prompt and objective, the mean, max and (population) variance of
the n scores.
Single-reward detection (``single_reward_mask``; the paper gives no rule, this one is ours): on a per-prompt
statistic S (N, K) — the max by default — the dominant objective is argmax_k S (first on ties); the prompt is
single-reward when S[dominant] ≥ ``high`` and every other objective's S < ``low``: only one objective's score
distribution reaches high. ``detection_scores`` gives precision and recall of the mask against a ground truth.
Steps 4-5, max-margin selection (``max_margin_pairs``): per prompt, chosen = the sample of largest total reward and
rejected = the one of smallest (``dpo.select_best_worst``: chosen the first maximum, rejected the last minimum); a
prompt whose margin is ≤ ``min_margin`` — all its samples tie, for the default 0 — gives no pair.
The referee report's measures (its item 3; the paper promises them, we define them):
  reward-dimension variance (``reward_dimension_variance``): per objective, the within-prompt variance of the n
      scores averaged over prompts, (K,) — how much a prompt lets the scores of each objective vary;
  Pareto-coverage ratio (``pareto_coverage``): per prompt, the share of the attainable reward box [reference,
      ideal]^K dominated by its n samples (their hypervolume, scores clipped into the box, divided by the box's
      volume), (N,). 1 when one sample reaches the ideal in every objective at once; a prompt that caps an
      objective keeps it low.

Default detection rule (``DETECTION_DEFAULTS``): the max statistic, high = low = 0.3 — exactly one objective's best
sample scores ≥ 0.3. Justified on the capped world (``pro_rl.data.mora_world``), whose scores take discrete values:
an invited objective 1, 0.7 or 0.4 when its segment is present (1 − 0.3 per uninvited intruder), an uninvited one at
most CAP = 0.2; so every threshold in (0.2, 0.4] separates the two and 0.3 sits in the middle, while 0.5 already
misses invited segments diluted twice (0.4). Measured with ``python -m pro_rl.data.mora_world`` (1000 prompts of
which 681 single-intent at seed 0, 694 at seed 1; ``sft``: the world's SFT response mix, ``focused``: 60 % exactly
the invited segments, else that mix), precision / recall:

    rule (statistic high/low)   sft n=4 (seed 0; 1)        sft n=8 (seed 0; 1)        focused n=4 (seed 0)
    max 0.3/0.3  (default)      0.965/0.941; 0.976/0.928   0.997/0.993; 0.997/0.996   1.000/0.999
    max 0.5/0.5                 0.964/0.905; 0.975/0.885   0.997/0.981; 0.997/0.987   1.000/0.997
    max 0.9/0.9                 0.872/0.460; 0.871/0.447   0.977/0.677; 0.957/0.729   0.999/0.988
    mean 0.1/0.1                0.960/0.601; 0.963/0.592   0.992/0.722; 0.998/0.689   1.000/0.896
    mean 0.2/0.2                0.847/0.514; 0.829/0.496   0.885/0.533; 0.872/0.519   0.991/0.950

The remaining errors are sampling misses no threshold can fix: a multi-intent prompt none of whose n samples carried
one of its invited segments looks single-reward (precision), a single-intent prompt none of whose samples carried
its segment has no high objective (recall); more samples (n = 8) remove most of them. The mean statistic needs
the invited segment in most samples and loses recall under the SFT mix. For reward models on other scales the
thresholds are in those models' units: normalise the scores first or set them in config.
"""

from __future__ import annotations

import math
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pro_rl.algorithms.dpo import select_best_worst
from pro_rl.algorithms.pareto import hypervolume

DETECTION_DEFAULTS = {"statistic": "max", "high": 0.3, "low": 0.3}
"""Default single-reward rule: exactly one objective's max over the n samples is ≥ 0.3 (module docstring)."""


class PromptStatistics(NamedTuple):
    """Per-prompt statistics of the n samples' scores, each (N, K)."""

    mean: Tensor
    max: Tensor
    variance: Tensor


def _grouped(reward_matrix: Tensor, num_samples: int) -> Tensor:
    if num_samples < 1:
        raise ValueError(f"num_samples must be ≥ 1, got {num_samples}")
    if reward_matrix.dim() != 2 or reward_matrix.shape[0] % num_samples != 0:
        raise ValueError(f"reward_matrix must have shape (N * {num_samples}, K), got {tuple(reward_matrix.shape)}")
    return reward_matrix.view(-1, num_samples, reward_matrix.shape[1])


def prompt_statistics(reward_matrix: Tensor, num_samples: int) -> PromptStatistics:
    """Fig. 3 step 1 (target mining): mean, max and population variance (divisor n) over each prompt's samples.

    Args:
        reward_matrix: (N * n, K) scores, the n samples of a prompt contiguous.
        num_samples: n.

    Returns:
        ``PromptStatistics(mean, max, variance)``, each (N, K).
    """
    grouped = _grouped(reward_matrix, num_samples)
    return PromptStatistics(grouped.mean(dim=1), grouped.amax(dim=1), grouped.var(dim=1, unbiased=False))


def single_reward_mask(statistic: Tensor, high: float = 0.3, low: float = 0.3) -> Tuple[Tensor, Tensor]:
    """Single-reward detection: only the dominant objective's statistic is high.

    Args:
        statistic: (N, K) per-prompt statistic (``prompt_statistics(...).max`` by default, or ``.mean``).
        high: the dominant objective's statistic must be ≥ high.
        low: every other objective's statistic must be < low (low ≤ high; low = high: exactly one reaches high).

    Returns:
        ``(mask, dominant)``: (N,) bool, True for single-reward prompts; (N,) long, the dominant objective
        (argmax over K, the first on ties; defined for every prompt).
    """
    if low > high:
        raise ValueError(f"single-reward thresholds need low ≤ high, got low={low}, high={high}")
    if statistic.dim() != 2 or statistic.shape[1] < 2:
        raise ValueError(f"statistic must have shape (N, K ≥ 2), got {tuple(statistic.shape)}")
    dominant = torch.argmax(statistic, dim=1)
    top = statistic.gather(1, dominant[:, None]).squeeze(1)
    others = statistic.scatter(1, dominant[:, None], -math.inf)
    mask = (top >= high) & (others < low).all(dim=1)
    return mask, dominant


def detection_scores(mask: Tensor, truth: Tensor) -> Dict[str, float]:
    """Precision and recall of a detection mask against the ground truth, both (N,) bool.

    Returns:
        ``{"precision", "recall", "true_positives", "predicted", "actual"}``: precision = TP / predicted,
        recall = TP / actual; NaN where the denominator is 0 (nothing predicted, or nothing to find).
    """
    if mask.shape != truth.shape:
        raise ValueError(f"mask and truth must have the same shape, got {tuple(mask.shape)} and {tuple(truth.shape)}")
    mask, truth = mask.bool(), truth.bool()
    true_positives = int((mask & truth).sum())
    predicted, actual = int(mask.sum()), int(truth.sum())
    return {"precision": true_positives / predicted if predicted else math.nan,
            "recall": true_positives / actual if actual else math.nan,
            "true_positives": true_positives, "predicted": predicted, "actual": actual}


def max_margin_pairs(totals: Tensor, num_samples: int, valid: Optional[Tensor] = None,
                     min_margin: float = 0.0) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    """Fig. 3 steps 4-5 (max-margin selection): each prompt's best and worst sample by total reward.

    Args:
        totals: (N * n,) total reward per sample (the sum, or a weighted sum, of its K scores; in the sequential
            mode one objective's score), the n samples of a prompt contiguous.
        num_samples: n (≥ 2).
        valid: (N * n,) bool, False for samples that may not be picked; None: all valid.
        min_margin: a prompt whose margin is ≤ min_margin gives no pair.

    Returns:
        ``(chosen, rejected, margin, has_pair)``, each (N,): flat indices (long) of the chosen (first maximum) and
        rejected (last minimum) sample, margin = totals[chosen] − totals[rejected], and whether the prompt gives a
        pair (margin > min_margin; never for a prompt with fewer than 2 valid samples or all samples tied).
    """
    chosen, rejected = select_best_worst(totals, num_samples, valid)
    margin = totals[chosen] - totals[rejected]
    has_pair = (margin > min_margin) & (chosen != rejected)
    return chosen, rejected, margin, has_pair


def reward_dimension_variance(reward_matrix: Tensor, num_samples: int) -> Tensor:
    """Referee measure: per objective, the within-prompt variance of the scores averaged over prompts.

    Args:
        reward_matrix: (N * n, K), the n samples of a prompt contiguous.

    Returns:
        (K,) = mean over prompts of ``prompt_statistics(...).variance``.
    """
    return prompt_statistics(reward_matrix, num_samples).variance.mean(dim=0)


def pareto_coverage(reward_matrix: Tensor, num_samples: int, reference: Sequence[float],
                    ideal: Sequence[float]) -> Tensor:
    """Referee measure, Pareto-coverage ratio: per prompt, the share of the box [reference, ideal] that its samples
    dominate, hypervolume(clip(scores, reference, ideal), reference) / prod(ideal − reference).

    Args:
        reward_matrix: (N * n, K), the n samples of a prompt contiguous.
        reference: (K,) the box's lower corner (the lowest attainable scores); ideal: (K,) its upper corner.

    Returns:
        (N,) float64 in [0, 1].
    """
    grouped = _grouped(reward_matrix, num_samples).double()
    low = torch.tensor(list(reference), dtype=torch.float64)
    high = torch.tensor(list(ideal), dtype=torch.float64)
    if low.shape != (grouped.shape[2],) or high.shape != low.shape or not bool((high > low).all()):
        raise ValueError(f"reference and ideal must be ({grouped.shape[2]},) with ideal > reference, "
                         f"got {list(reference)} and {list(ideal)}")
    volume = float(torch.prod(high - low))
    clipped = torch.minimum(torch.maximum(grouped, low), high)
    return torch.tensor([hypervolume(points, low) / volume for points in clipped], dtype=torch.float64)
