"""Rewarded Soups (Ramé et al. 2023): K single-objective RL runs from one initialisation, interpolated at test time.

Reads top to bottom: for each objective k, run ``soups.rl_config`` (e.g. ``configs/tiny/pro_morlhf.yaml``) with
``weights.mode=fixed`` and the one-hot weight vector e_k into ``<run>/objectives/<name>/``; then evaluate the
interpolated policies θ(w) = Σ_k w_k θ_k over the weight grid (``evaluate.method: soups``) into ``<run>/``; each
rollout engine interpolates the experts' weights itself (``pipelines.generation``).
The experts inherit ``run.resume`` and ``run.overwrite``: a resumed soup resumes its experts, a replaced one
replaces them.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import List

import pipelines
from pipelines import RunResult
from pipelines import evaluate
from pipelines.generation import make_generator
from pro_rl.config import ConfigError, ProRLConfig, load_config
from pro_rl.training.evaluation import check_evaluate_config, evaluate_weight_grid
from pro_rl.training.run_dir import prepare_run_dir


def single_objective_overrides(config: ProRLConfig, index: int, output_dir: Path) -> List[str]:
    """The overrides of objective ``index``'s run: the user's, then fixed one-hot weights and its own run directory."""
    one_hot = ",".join("1.0" if k == index else "0.0" for k in range(len(config.objectives)))
    name = config.objectives[index]
    return [*config.soups.rl_overrides, "weights.mode=fixed", f"weights.fixed=[{one_hot}]",
            f"run.output_dir={output_dir / 'objectives' / name}", f"run.name={config.run.name}-{name}",
            f"run.resume={config.run.resume}", f"run.overwrite={str(config.run.overwrite).lower()}"]


def check_soups_config(config: ProRLConfig) -> None:
    if not config.soups.rl_config:
        raise ConfigError("key 'soups.rl_config': empty; name the RL config to run once per objective")
    rl_objectives = load_config(config.soups.rl_config, config.soups.rl_overrides).objectives
    if rl_objectives != config.objectives:
        raise ConfigError(f"key 'soups.rl_config': its objectives {rl_objectives} differ from {config.objectives}")


def train_experts(config: ProRLConfig, output_dir: Path) -> List[str]:
    """Run the K single-objective RL runs into ``<output_dir>/objectives/<name>/``; their final policy dirs."""
    policies = []
    for index in range(len(config.objectives)):
        result = pipelines.run(config.soups.rl_config, single_objective_overrides(config, index, output_dir))
        policies.append(str(result.output_dir / "final" / "policy"))
    return policies


def run(config: ProRLConfig) -> RunResult:
    check_soups_config(config)
    output_dir = prepare_run_dir(config)
    policies = train_experts(config, output_dir)
    evaluation = replace(config, pipeline="evaluate",
                         evaluate=replace(config.evaluate, method="soups", soup_policies=policies))
    check_evaluate_config(evaluation)
    return evaluate.write_outputs(evaluate_weight_grid(evaluation, make_generator), output_dir, config)
