"""MOSLIM's weights → intensity tags at evaluation time (the rule in ``pro_rl.training.evaluation``'s docstring):
the classes a weight vector asks for, the classes a MOSLIM policy reads, and the prompt conditioner that tags."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Sequence

from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ProRLConfig
from pro_rl.data.conditioning import moslim_prompt


def moslim_targets_from_weights(weights: Sequence[float], objectives: Sequence[str],
                                levels: Mapping[str, int]) -> Dict[str, int]:
    """MOSLIM targets {objective: intensity class} for a weight vector (the rule in ``pro_rl.training.evaluation``'s docstring).

    ``weights``: K floats on the simplex, in ``objectives`` order; ``levels``: objective → n_k, whose order is the
    tags' order. Weight 0 (≤ 1e-9) leaves an objective untagged; otherwise 1 + round_half_up((n_k − 1) · w_k / max w).
    """
    if len(weights) != len(objectives) or max(weights, default=0.0) <= 0.0:
        raise ValueError(f"need one weight per objective {list(objectives)} and a positive one, got {list(weights)}")
    largest = max(weights)
    by_objective = dict(zip(objectives, weights))
    return {objective: 1 + math.floor((levels[objective] - 1) * by_objective[objective] / largest + 0.5 + 1e-9)
            for objective in levels if by_objective.get(objective, 0.0) > 1e-9}


def moslim_policy_levels(config: ProRLConfig) -> Dict[str, int]:
    """The intensity classes {objective: n_k} a MOSLIM policy reads: the heads of ``moslim.reward_model`` when set,
    else ``moslim.levels``, else the toy world's ``MOSLIM_LEVELS``; every evaluated objective must have a head."""
    from pro_rl.rl.moslim import classifier_heads
    from pro_rl.training.moslim_reward_model import moslim_levels

    from pro_rl.config.model_specs import looks_local

    key = "moslim.reward_model" if config.moslim.reward_model else "moslim.levels"
    path = config.moslim.reward_model
    if path and looks_local(path) and not Path(path).is_dir():
        raise ConfigError(f"key '{key}': no such model directory: {path} (a trained multi-head classifier, whose "
                          "heads give the policy's intensity classes)")
    try:
        levels = classifier_heads(config.moslim.reward_model) if config.moslim.reward_model else moslim_levels(config)
    except ValueError as error:
        raise ConfigError(f"key '{key}': {error}") from None
    missing = [name for name in config.objectives if name not in levels]
    if missing:
        raise ConfigError(f"key '{key}': objectives {missing} have no MOSLIM intensity head (heads: {dict(levels)})")
    return levels


def moslim_conditioner(objectives: Sequence[str], levels: Mapping[str, int]) -> Callable[[str, Optional[Sequence[float]]], str]:
    """(prompt, weights) → the MOSLIM-tagged prompt; weights None → the prompt untouched (the untagged point)."""
    def condition(prompt: str, weights: Optional[Sequence[float]]) -> str:
        if weights is None:
            return prompt
        return moslim_prompt(prompt, moslim_targets_from_weights(weights, objectives, levels))

    return condition
