"""Reward actor: one objective's reward model or reward function; (prompts, responses) → one float each."""

from __future__ import annotations

from typing import List, Sequence

import ray

from actors.common import setup_actor_process
from pro_rl.config.schema import RewardModelConfig


@ray.remote(max_restarts=-1, max_task_retries=-1)
class RewardActor:
    """Stateless: a dead reward actor is restarted by Ray and the call retried."""

    def __init__(self, spec: RewardModelConfig, num_cpus: float = 1.0, num_gpus: float = 0.0):
        from pro_rl.models.scoring import RewardScorer

        device = setup_actor_process(num_cpus, num_gpus)
        self.scorer = RewardScorer(spec, device=str(device))

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> List[float]:
        return self.scorer.score(prompts, responses)

    def pid(self) -> int:
        import os

        return os.getpid()
