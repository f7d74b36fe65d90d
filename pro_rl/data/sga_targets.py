"""SGA score targets: K numbers in [0, 1] per preference pair, taken from its chosen response.

| ``sga.score_source`` | data (adapter)                       | target s_k of the chosen response                              |
| -------------------- | ------------------------------------ | -------------------------------------------------------------- |
| ``helpsteer2``       | nvidia/HelpSteer2 ratings 0–4        | s / 4                                                          |
| ``ultrafeedback``    | openbmb/UltraFeedback ratings 1–5    | (s − 1) / 4                                                    |
| ``scores``           | canonical ``scores`` already in [0,1] | s as given                                                     |
| ``reward_models``    | hh-rlhf, or any pairs                | σ((r_k − mean_k) / std_k): the K reward models' scores of the   |
|                      |                                      | chosen responses, z-scored over them (stats saved), sigmoid    |
| ``toy_world``        | the toy world's pairs                | (r_k + (K−1)·p) / (1 + (K−1)·p): its ground-truth reward of    |
|                      |                                      | objective k, mapped linearly from [−(K−1)·p, 1] (p: penalty)    |

``auto`` picks by the pairs' adapter: helpsteer2 → ``helpsteer2``, ultrafeedback → ``ultrafeedback``, a canonical
source with a ``scores`` column → ``scores``, anything else (hh-rlhf, ultrafeedback_binarized) →
``reward_models``.

The ``scores`` column must name every objective for every row; a missing, non-numeric or off-scale score is a
``DataError`` naming the row. On HelpSteer2 and UltraFeedback the pairs themselves are made over all K objectives
(``pro_rl.data.sga_pairs``: chosen = the highest mean rating), so every chosen response carries its K ratings.
"""

from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pro_rl.algorithms import zscore, zscore_stats
from pro_rl.data.errors import DataError

RATING_SCALES = {"helpsteer2": (0.0, 4.0), "ultrafeedback": (1.0, 5.0), "scores": (0.0, 1.0)}  # source → (low, high)


def resolve_score_source(score_source: str, adapter: str, has_scores: bool) -> str:
    """The concrete source for ``auto``: by the (resolved) adapter name, and whether the pairs carry ``scores``."""
    if score_source != "auto":
        return score_source
    if adapter in ("helpsteer2", "ultrafeedback"):
        return adapter
    return "scores" if adapter == "canonical" and has_scores else "reward_models"


def rating_targets(score_rows: Sequence[Optional[Dict[str, float]]], objectives: Sequence[str], source: str,
                   origin: str) -> Tensor:
    """(N, K) targets from each row's ``scores`` on the rating scale of ``source`` (``RATING_SCALES``), mapped
    linearly to [0, 1]. A missing, non-finite or off-scale score is a ``DataError`` naming ``origin`` and the row."""
    low, high = RATING_SCALES[source]
    targets = []
    for index, row in enumerate(score_rows):
        values = []
        for name in objectives:
            value = (row or {}).get(name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or not low <= value <= high:
                raise DataError(origin, f"scores['{name}'] is {value!r}; SGA ({source}) needs a number in "
                                        f"[{low:g}, {high:g}] for every objective {list(objectives)}", row=index)
            values.append((float(value) - low) / (high - low))
        targets.append(values)
    return torch.tensor(targets, dtype=torch.float32).reshape(len(targets), len(objectives))


def reward_model_targets(reward_matrix: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """(targets (N, K) float32, mean (K,), std (K,)): σ of each objective's z-scored rewards of the chosen
    responses (z-score stats over those N rows, returned to be saved).

    Args:
        reward_matrix: (N, K) raw reward-model scores of the chosen responses.
    """
    mean, std = zscore_stats(reward_matrix.double())
    return torch.sigmoid(zscore(reward_matrix.double(), mean, std)).float(), mean, std


def toy_world_targets(responses: Sequence[str], objectives: Sequence[str]) -> Tensor:
    """(N, K) targets of toy-world responses: each objective's ground-truth reward (``objective_rewards``) mapped
    linearly from its range [−(K−1)·INTRUSION_PENALTY, 1] to [0, 1]."""
    from pro_rl.data.toy_world import INTRUSION_PENALTY, OBJECTIVES, objective_rewards

    unknown = [name for name in objectives if name not in OBJECTIVES]
    if unknown:
        raise ValueError(f"objectives {unknown} are not the toy world's {list(OBJECTIVES)}")
    lowest = -(len(OBJECTIVES) - 1) * INTRUSION_PENALTY
    rows: List[List[float]] = []
    for response in responses:
        rewards = objective_rewards(response)
        rows.append([(rewards[name] - lowest) / (1.0 - lowest) for name in objectives])
    return torch.tensor(rows, dtype=torch.float32).reshape(len(rows), len(objectives))
