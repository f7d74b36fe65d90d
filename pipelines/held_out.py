"""Held-out evaluation of the RL loop's policy: one sample per held-out prompt, scored by the raw reward models.

Runs before the first RL step and after the last (``pipelines.pro_morlhf``). When the held-out prompts carry their
true weights w* (``{"prompt": ..., "weights": {...}}``, as the toy world's do), the rewards are also scalarised with
w* (eq. 4), the number the loop is meant to raise. Rewards here are raw, never normalised; a NaN/inf reward drops
its sample from the means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from pipelines import rl_generation
from pipelines import rl_stages as stages
from pro_rl.algorithms import scalarise
from pro_rl.data.canonical import data_limits, load_prompts
from pro_rl.models.prompt_rendering import render_prompts


@dataclass
class HeldOutResult:
    per_objective: Dict[str, float]
    w_star: Optional[float] = None
    responses: List[str] = field(default_factory=list)


def load_held_out(config) -> Tuple[List[str], Optional[torch.Tensor]]:
    """``data.eval_prompts`` rendered, and their true weights (P, K) when every row carries them (else None)."""
    if not config.data.eval_prompts:
        return [], None
    rows = load_prompts(config.data.eval_prompts, **data_limits(config.data))
    prompts = render_prompts(config, rows["prompt"])
    if "weights" not in rows.column_names:
        return prompts, None
    return prompts, torch.tensor([[w[name] for name in config.objectives] for w in rows["weights"]])


def evaluate_held_out(roles, prompts: Sequence[str], true_weights: Optional[torch.Tensor], objectives: Sequence[str],
                      seed: int, version: int) -> HeldOutResult:
    """One sample per held-out prompt from the policy of ``version``, scored by the raw reward models;
    w*-scalarised when w* is known."""
    rollouts = rl_generation.generate(roles, prompts, 1, seed, version)
    reward_matrix, valid = stages.score(roles, rollouts, "skip")
    rows = reward_matrix[valid]
    result = HeldOutResult({name: rows[:, k].mean().item() for k, name in enumerate(objectives)},
                           responses=rollouts.responses)
    if true_weights is not None:
        result.w_star = scalarise(rows, true_weights.float()[valid]).mean().item()
    return result


def held_out_metrics(roles, prompts, true_weights, objectives, seed: int, version: int) -> Dict[str, float]:
    """``eval/reward/<objective>/mean`` and, with w*, ``eval/reward/w_star/mean``."""
    result = evaluate_held_out(roles, prompts, true_weights, objectives, seed, version)
    values = {f"eval/reward/{name}/mean": value for name, value in result.per_objective.items()}
    if result.w_star is not None:
        values["eval/reward/w_star/mean"] = result.w_star
    return values
