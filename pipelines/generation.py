"""The generator of the pipelines that sample and score without an RL loop (``pro_rl.rollout.generator``).

``open_generator(config, policy_path)`` is what evaluate, Rewarded Soups, PRO-WIC/RiC and MORA hand to their
``pro_rl.training`` code: by default a ``RoleGenerator`` on the run's Ray roles — the rollout engines (vLLM when
``rollout.backend: vllm``; ``resources.rollout.replicas`` of them share the prompts, replica i seeded seed + i as in
the RL loop) and one reward actor per ``reward_models`` entry, all called at once — or, with
``rollout.in_driver: true``, a ``LocalGenerator`` in this process.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import ray
import torch

from pipelines.rl_generation import assemble_replicas, submit_to_replicas
from pipelines.rl_stages import connect_ray
from pro_rl.rollout import Rollouts
from pro_rl.rollout.generator import Generator, LocalGenerator, reward_columns


class RoleGenerator:
    """A ``Generator`` on Ray: ``actors.launch.launch_generation_roles``'s reward actors, started at once, and its
    rollout engines, started at the first ``generate`` with the policy chosen by then (``use_policy`` before that
    only changes which policy they load, so the engines start with that policy's own tokenizer)."""

    def __init__(self, config, policy_path: str):
        from actors.launch import launch_generation_roles

        connect_ray(config)
        self.config, self.policy_path = config, policy_path
        self.objectives = [spec.name for spec in config.reward_models]
        self.roles = launch_generation_roles(config)

    def _engines(self) -> list:
        if not self.roles.rollouts:
            from actors.launch import start_generation_engines

            start_generation_engines(self.roles, self.config, self.policy_path)
        return self.roles.rollouts

    def generate(self, prompts: Sequence[str], num_samples: int, seed: int) -> Rollouts:
        engines = self._engines()
        parts = ray.get(submit_to_replicas(engines, list(prompts), num_samples, seed))
        return assemble_replicas(parts, len(engines), len(prompts), num_samples)

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        prompts, responses = list(prompts), list(responses)
        columns = ray.get([self.roles.rewards[name].score.remote(prompts, responses) for name in self.objectives])
        return reward_columns(self.objectives, columns)

    def use_policy(self, path: str) -> None:
        if not self.roles.rollouts:
            self.policy_path = path
            return
        ray.get([engine.use_policy.remote(path) for engine in self.roles.rollouts])

    def use_soup(self, paths: Sequence[str], weights: Sequence[float]) -> None:
        if not self.roles.rollouts:
            self.policy_path = paths[0]
        ray.get([engine.use_soup.remote(list(paths), list(weights)) for engine in self._engines()])

    def close(self) -> None:
        self.roles.shutdown()


def make_generator(config, policy_path: str) -> Generator:
    """A ``LocalGenerator`` with ``rollout.in_driver: true``, else a ``RoleGenerator``."""
    return LocalGenerator(config, policy_path) if config.rollout.in_driver else RoleGenerator(config, policy_path)


@contextmanager
def open_generator(config, policy_path: str) -> Iterator[Generator]:
    """``make_generator``'s generator, closed (its actors killed) when the block ends."""
    generator = make_generator(config, policy_path)
    try:
        yield generator
    finally:
        generator.close()
