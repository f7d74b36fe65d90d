"""Orchestrator actor: prompts → per-prompt weight vectors on the simplex (PRO eq. 9's f_ψ(x))."""

from __future__ import annotations

from typing import List, Sequence

import ray
import torch

from actors.common import setup_actor_process


@ray.remote(max_restarts=-1, max_task_retries=-1)
class OrchestratorActor:
    """Stateless: restarted by Ray and the call retried if it dies."""

    def __init__(self, path: str, max_length: int = 256, num_cpus: float = 1.0, num_gpus: float = 0.0,
                 router: str = "orchestrator"):
        """``router``: "orchestrator" (the trained model at ``path``) or "bag_of_words" (the baseline beside it)."""
        from pro_rl.models.scoring import OrchestratorPredictor

        device = setup_actor_process(num_cpus, num_gpus)
        self.predictor = OrchestratorPredictor(path, device=str(device), max_length=max_length, router=router)

    def objectives(self) -> List[str]:
        return list(self.predictor.objectives)

    def weights(self, prompts: Sequence[str]) -> torch.Tensor:
        """(B, K) float64 weights, rows on the simplex."""
        return self.predictor.predict(prompts)
