"""Controllability of a MOSLIM policy on the toy world (MOSLIM §3.2 "Controllability of Preference Intensity" and
"... of Preference Dimensions", Figs. 5 and 6).

The policy answers the held-out prompts (``data.eval_prompts``, the first ``evaluate.num_prompts``) under a set of
tag conditions, ``evaluate.samples_per_prompt`` responses per prompt, with the same sampling seed for every condition
(so differences come from the tags, not from the sampling noise):

    single   one tag ``<k n>`` for every objective k and every intensity n = 1..n_k (Fig. 5)
    pairs    two tags at their top class ``<i n_i><j n_j>`` for every pair of objectives (Fig. 6)
    untagged the prompt as it is (the reference the tags move away from)

Every response is measured with the toy world's ground truth, for every objective: its intensity class
``intensity_class(c_k, n_k)`` of the segment count c_k (``objective_intensities``; the scale the tags request) and its
reward (``objective_rewards``). A response's values are averaged over its prompt's samples; each condition reports the
mean over prompts with a percentile-bootstrap interval over prompts (``bootstrap_mean_interval``,
``evaluate.interval_level``, ``evaluate.bootstrap_resamples``). Monotonicity: per objective k, Spearman's ρ
(``spearman_rho``) between the requested intensity n and the measured class of k, over every response of k's
single-tag sweep; 1 = the measured intensity rises with every requested step, NaN = the measured class never varies.

Tags are written with ``moslim_prompt`` (the grammar the policy was trained on); the intensity classes n_k are the
policy's (``moslim_policy_levels``: the heads of ``moslim.reward_model``, else ``moslim.levels``, else the toy world's
``MOSLIM_LEVELS``); the objectives swept and measured are the ``reward_models`` names (every head when empty). Simplification: only the toy world has a ground truth, so every objective must be one of its
objectives; evaluating with learned reward models instead (the paper's Fig. 5 uses evaluation scores) is not done.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from itertools import combinations
from typing import Dict, List, Mapping, Sequence, Tuple

import torch

from pro_rl.algorithms.intervals import bootstrap_mean_interval
from pro_rl.algorithms.rank_correlation import spearman_rho
from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ProRLConfig
from pro_rl.data import toy_world, toy_world_intensities
from pro_rl.data.conditioning import moslim_prompt, moslim_tags
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.training.evaluation import evaluation_prompts, policy_dir
from pro_rl.training.moslim_tags import moslim_policy_levels
from pro_rl.rollout.generator import policy_engine

logger = logging.getLogger("pro_rl.training")

UNTAGGED = "untagged"


@dataclass
class ConditionResult:
    """One tag condition: its kind (single, pairs, untagged), label (its tags, or 'untagged'), requested targets,
    and per objective [mean, low, high] over prompts of the ground-truth intensity class and reward."""

    kind: str
    label: str
    targets: Dict[str, int]
    intensity: Dict[str, List[float]]
    reward: Dict[str, List[float]]


def check_controllability_config(config: ProRLConfig) -> Dict[str, int]:
    """The checks the types cannot make; returns the intensity classes {objective: n_k} to sweep and measure: the
    policy's heads, restricted to the ``reward_models`` names when there are any (all heads otherwise)."""
    from pro_rl.config.model_specs import check_model_spec

    if not config.data.eval_prompts:
        raise ConfigError("key 'data.eval_prompts': empty; the controllability evaluation generates for held-out prompts")
    check_model_spec("<config>", "evaluate.policy" if config.evaluate.policy else "policy.model", policy_dir(config), True)
    levels = moslim_policy_levels(config)
    if config.objectives:
        levels = {objective: n for objective, n in levels.items() if objective in config.objectives}
    unknown = [objective for objective in levels if objective not in toy_world.OBJECTIVES]
    if unknown:
        key = "reward_models" if config.reward_models else "moslim.levels"
        raise ConfigError(f"key '{key}': objectives {unknown} have no toy-world ground truth (the controllability "
                          f"evaluation measures {list(toy_world.OBJECTIVES)})")
    return levels


def tag_conditions(levels: Mapping[str, int]) -> List[Tuple[str, Dict[str, int]]]:
    """(kind, targets) of every condition in report order: single tags 1..n_k per objective, pairs of objectives at
    their top class, then the untagged prompt (empty targets)."""
    single = [("single", {objective: n}) for objective, top in levels.items() for n in range(1, top + 1)]
    pairs = [("pairs", {first: levels[first], second: levels[second]}) for first, second in combinations(levels, 2)]
    return [*single, *pairs, (UNTAGGED, {})]


def ground_truth(responses: Sequence[str], levels: Mapping[str, int]) -> Tuple[torch.Tensor, torch.Tensor]:
    """((N, K) intensity classes 1..n_k, (N, K) rewards) of the responses by the toy world's ground truth, objectives
    in ``levels`` order."""
    classes, rewards = [], []
    for response in responses:
        counts, reward = toy_world_intensities.objective_intensities(response), toy_world.objective_rewards(response)
        classes.append([toy_world_intensities.intensity_class(counts[objective], levels[objective]) for objective in levels])
        rewards.append([reward[objective] for objective in levels])
    return torch.tensor(classes, dtype=torch.float64), torch.tensor(rewards, dtype=torch.float64)


def interval_table(per_response: torch.Tensor, samples: int, objectives: Sequence[str], level: float,
                   resamples: int, seed: int) -> Dict[str, List[float]]:
    """{objective: [mean, low, high]}: the (N·samples, K) values averaged per prompt, then the bootstrap interval of
    their mean over the N prompts."""
    per_prompt = per_response.reshape(-1, samples, per_response.shape[1]).mean(dim=1)
    mean, low, high = bootstrap_mean_interval(per_prompt, level, resamples, seed)
    return {objective: [float(mean[k]), float(low[k]), float(high[k])] for k, objective in enumerate(objectives)}


def measure_condition(engine: HFRolloutEngine, prompts: Sequence[str], kind: str, targets: Dict[str, int],
                      levels: Mapping[str, int], config: ProRLConfig) -> Tuple[ConditionResult, torch.Tensor]:
    """Generate under one condition and measure it; also returns the (N·samples, K) intensity classes (for ρ)."""
    settings = config.evaluate
    conditioned = [moslim_prompt(prompt, targets) if targets else prompt for prompt in prompts]
    rollouts = engine.generate(conditioned, settings.samples_per_prompt, seed=config.run.seed)
    classes, rewards = ground_truth(rollouts.responses, levels)
    table = {"level": settings.interval_level, "resamples": settings.bootstrap_resamples, "seed": config.run.seed}
    result = ConditionResult(kind, moslim_tags(targets) if targets else UNTAGGED, dict(targets),
                             interval_table(classes, settings.samples_per_prompt, list(levels), **table),
                             interval_table(rewards, settings.samples_per_prompt, list(levels), **table))
    logger.info("controllability %s: intensity %s", result.label,
                {objective: round(values[0], 3) for objective, values in result.intensity.items()})
    return result, classes


def monotonicity(sweeps: Mapping[str, List[Tuple[int, torch.Tensor]]], levels: Mapping[str, int]) -> Dict[str, float]:
    """{objective k: Spearman ρ of (requested n, measured class of k)} over every response of k's single-tag sweep;
    ``sweeps[k]`` lists (n, (N·samples, K) measured classes) per requested intensity."""
    order = list(levels)
    rho = {}
    for objective, sweep in sweeps.items():
        requested = torch.cat([torch.full((classes.shape[0],), float(n)) for n, classes in sweep])
        measured = torch.cat([classes[:, order.index(objective)] for _, classes in sweep])
        rho[objective] = spearman_rho(requested, measured)
    return rho


def evaluate_controllability(config: ProRLConfig) -> Dict[str, object]:
    """Every condition of ``tag_conditions`` generated, measured and summarised as plain data (module docstring)."""
    levels = check_controllability_config(config)
    prompts, _ = evaluation_prompts(config)
    engine = policy_engine(config, policy_dir(config))
    results: List[ConditionResult] = []
    sweeps: Dict[str, List[Tuple[int, torch.Tensor]]] = {objective: [] for objective in levels}
    for kind, targets in tag_conditions(levels):
        result, classes = measure_condition(engine, prompts, kind, targets, levels, config)
        results.append(result)
        if kind == "single":
            (objective, intensity), = targets.items()
            sweeps[objective].append((intensity, classes))
    return {
        "policy": policy_dir(config),
        "levels": dict(levels),
        "objectives": list(levels),
        "num_prompts": len(prompts),
        "samples_per_prompt": config.evaluate.samples_per_prompt,
        "interval_level": config.evaluate.interval_level,
        "conditions": [asdict(result) for result in results],
        "spearman": {objective: None if math.isnan(rho) else rho  # None: undefined (the class never varied)
                     for objective, rho in monotonicity(sweeps, levels).items()},
    }
