"""Rollout actor: n responses per prompt with the config's sampling settings (``hf`` backend here)."""

from __future__ import annotations

from typing import Optional, Sequence

import ray
import torch

from actors.common import setup_actor_process


@ray.remote(max_restarts=-1, max_task_retries=-1)
class RolloutActor:
    """Holds a copy of the policy for generation; ``load_weights`` after every policy update (step 8, sync).

    Restartable: after a restart it reloads ``model_path`` and the driver re-syncs weights before the next call.
    """

    def __init__(self, model_path: str, config, num_cpus: float = 1.0, num_gpus: float = 0.0):
        from pro_rl.models.builders import load_policy
        from pro_rl.rollout import HFRolloutEngine, SamplingSettings

        device = setup_actor_process(num_cpus, num_gpus)
        model, tokenizer = load_policy(model_path, config.policy)
        if device.type == "cuda" and config.trainer.bf16:
            model = model.to(torch.bfloat16)
        self.engine = HFRolloutEngine(model, tokenizer, SamplingSettings.from_config(config.rollout),
                                      max_prompt_length=config.policy.max_prompt_length, device=device)
        self.version = 0

    def generate(self, prompts: Sequence[str], num_samples: int, seed: Optional[int] = None):
        return self.engine.generate(prompts, num_samples, seed)

    def device_identity(self) -> str:
        from pro_rl.rollout.weight_sync import device_identity

        return device_identity(self.engine.device)

    def load_weights(self, payload: dict, version: int) -> int:
        """Copy the policy's weights in: from CUDA IPC handles (same GPU) or a CPU state dict."""
        from pro_rl.rollout.weight_sync import tensors_from_ipc

        if payload["transport"] == "cuda_ipc":
            with torch.no_grad():
                self.engine.load_weights(tensors_from_ipc(payload["handles"]))
            torch.cuda.synchronize()
        else:
            self.engine.load_weights(payload["state_dict"])
        self.version = version
        return version

    def weights_version(self) -> int:
        return self.version
