"""Generation and scoring for the pipelines that sample and score without an RL loop.

Evaluate, Rewarded Soups, PRO-WIC/RiC (the offline labels and the online stages), MORA and the comparison built on
them take a ``Generator``: n responses per prompt from a policy, and the K raw rewards of (prompt, response) pairs.
Two implementations behave alike:

- ``pipelines.generation.RoleGenerator`` (the default): the run's rollout engines (``rollout.backend``: vLLM on GPU,
  transformers ``generate`` otherwise; ``resources.rollout.replicas`` of them share the prompts) and one reward
  actor per ``reward_models`` entry, called at once — the roles of the RL loop, so these pipelines scale with the
  cluster too;
- ``LocalGenerator``: the same in the driver process (``rollout.in_driver: true``; hf backend only), for tiny runs
  on one machine and for tests.

With one rollout engine, both give the same samples for the same seed and the same scores.

A generator starts on one policy; ``use_policy(path)`` switches its engines to a policy saved later with the same
architecture and tokenizer (e.g. the next PRO-WIC stage), and ``use_soup(paths, weights)`` to Rewarded Soups'
interpolation Σ_k w_k θ_k of K such policies (each engine keeps the K state dicts after the first call).
"""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Protocol, Sequence, Tuple

import torch

from pro_rl.algorithms.interpolation import interpolate_state_dicts
from pro_rl.models.builders import load_policy
from pro_rl.models.scoring import RewardScorer, default_device
from pro_rl.rollout.base import Rollouts, SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine


class Generator(Protocol):
    objectives: List[str]  # the reward matrix's columns: the ``reward_models`` names, in order

    def generate(self, prompts: Sequence[str], num_samples: int, seed: int) -> Rollouts:
        """``num_samples`` responses per prompt, contiguous per prompt."""

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        """(N, K) float64 raw rewards; a NaN/inf score raises naming its objective."""

    def use_policy(self, path: str) -> None:
        """Generate with the policy saved at ``path`` from now on."""

    def use_soup(self, paths: Sequence[str], weights: Sequence[float]) -> None:
        """Generate with the interpolation Σ_k w_k θ_k of the policies at ``paths``."""

    def close(self) -> None:
        """Free the engines and scorers."""


def reward_columns(names: Sequence[str], columns: Sequence[Sequence[float]]) -> torch.Tensor:
    """(N, K) float64 reward matrix from K scorers' N scores each; a NaN/inf score is an error naming the
    objective."""
    stacked = []
    for name, values in zip(names, columns):
        column = torch.tensor(list(values), dtype=torch.float64)
        bad = int((~torch.isfinite(column)).sum())
        if bad:
            raise ValueError(f"objective '{name}': {bad} of {len(column)} scores are NaN/inf")
        stacked.append(column)
    return torch.stack(stacked, dim=1)


def policy_engine(config, source: str) -> HFRolloutEngine:
    """An hf rollout engine for the policy at ``source`` with the config's sampling settings and device."""
    model, tokenizer = load_policy(source, config.policy)
    return HFRolloutEngine(model, tokenizer, SamplingSettings.from_config(config.rollout),
                           config.policy.max_prompt_length, default_device(config.run.device))


def policy_weights(path: str, spec) -> Dict[str, torch.Tensor]:
    """The state dict of the policy saved at ``path`` (``spec``: the config's ``policy`` section)."""
    return load_policy(path, spec)[0].state_dict()


class SoupWeights:
    """Rewarded Soups' weights for an engine: the K policies' state dicts, read once, and their interpolation."""

    def __init__(self, spec):
        self.spec = spec
        self.paths: Tuple[str, ...] = ()
        self.state_dicts: List[Mapping[str, torch.Tensor]] = []

    def interpolated(self, paths: Sequence[str], weights: Sequence[float]) -> Dict[str, torch.Tensor]:
        if tuple(paths) != self.paths:
            self.paths, self.state_dicts = tuple(paths), [policy_weights(path, self.spec) for path in paths]
        return interpolate_state_dicts(self.state_dicts, list(weights))


class LocalGenerator:
    """A ``Generator`` in this process: an hf engine (built at the first ``generate``) and the reward scorers
    (built at the first ``score``)."""

    def __init__(self, config, policy_path: str):
        self.config = config
        self.objectives = [spec.name for spec in config.reward_models]
        self.policy_path = policy_path
        self.engine: Optional[HFRolloutEngine] = None
        self.scorers: List[RewardScorer] = []
        self.soup = SoupWeights(config.policy)

    def _engine(self) -> HFRolloutEngine:
        if self.engine is None:
            self.engine = policy_engine(self.config, self.policy_path)
        return self.engine

    def generate(self, prompts: Sequence[str], num_samples: int, seed: int) -> Rollouts:
        return self._engine().generate(prompts, num_samples, seed=seed)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        if not self.scorers:
            self.scorers = [RewardScorer(spec, self.config.run.device) for spec in self.config.reward_models]
        return reward_columns(self.objectives, [scorer.score(prompts, responses) for scorer in self.scorers])

    def use_policy(self, path: str) -> None:
        if self.engine is None:
            self.policy_path = path
        else:
            self.engine.load_weights(policy_weights(path, self.config.policy))

    def use_soup(self, paths: Sequence[str], weights: Sequence[float]) -> None:
        if self.engine is None:
            self.policy_path = paths[0]
        self._engine().load_weights(self.soup.interpolated(paths, weights))

    def close(self) -> None:
        self.engine, self.scorers = None, []
