"""Reward actor: one scorer of the run's reward source (``pro_rl.rl.reward_source``) — for ``reward_models``, one
objective's reward model or reward function; (prompts, responses) → one output each (a float, or a vector)."""

from __future__ import annotations

from typing import List, Sequence

import ray

from actors.common import setup_actor_process
from pro_rl.rl.reward_source import ScorerSpec


@ray.remote(max_restarts=-1, max_task_retries=-1)
class RewardActor:
    """Stateless: a dead reward actor is restarted by Ray and the call retried."""

    def __init__(self, scorer: ScorerSpec, num_cpus: float = 1.0, num_gpus: float = 0.0):
        device = setup_actor_process(num_cpus, num_gpus)
        self.scorer = scorer.build(str(device))

    def score(self, prompts: Sequence[str], responses: Sequence[str]) -> List:
        return self.scorer.score(prompts, responses)

    def pid(self) -> int:
        import os

        return os.getpid()
