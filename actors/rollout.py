"""Rollout actor: n responses per prompt with the config's sampling settings, on the ``rollout.backend`` engine."""

from __future__ import annotations

import tempfile
from typing import Optional, Sequence

import ray
import torch

from actors.common import setup_actor_process


@ray.remote(max_restarts=-1, max_task_retries=-1)
class RolloutActor:
    """Holds a copy of the policy for generation; ``load_weights`` after every policy update (step 8, sync).

    ``rollout.backend: hf`` runs transformers ``generate``; ``vllm`` a vLLM engine (``pro_rl.rollout.vllm_engine``),
    asleep during policy updates when it shares the policy's GPU. Restartable: after a restart it reloads
    ``model_path`` and the driver re-syncs weights before the next call.
    """

    def __init__(self, model_path: str, config, num_cpus: float = 1.0, num_gpus: float = 0.0):
        device = setup_actor_process(num_cpus, num_gpus)
        if config.rollout.backend == "vllm":
            from pro_rl.rollout import VLLMRolloutEngine

            self.model_directory = tempfile.TemporaryDirectory(prefix="pro_rl_vllm_policy_")  # for tiny policies
            self.engine = VLLMRolloutEngine.from_config(model_path, config, self.model_directory.name)
        else:
            self.engine = self._hf_engine(model_path, config, device)
        self.version = 0
        self.policy_spec = config.policy
        self.soup = None  # ``pro_rl.rollout.generator.SoupWeights`` after the first ``use_soup``

    @staticmethod
    def _hf_engine(model_path: str, config, device: torch.device):
        from pro_rl.models.builders import load_policy
        from pro_rl.models.tiny_corpus import policy_corpus
        from pro_rl.rollout import HFRolloutEngine, SamplingSettings

        model, tokenizer = load_policy(model_path, config.policy, policy_corpus(config, model_path))
        if device.type == "cuda" and config.trainer.bf16:
            model = model.to(torch.bfloat16)
        return HFRolloutEngine(model, tokenizer, SamplingSettings.from_config(config.rollout),
                               max_prompt_length=config.policy.max_prompt_length, device=device)

    def generate(self, prompts: Sequence[str], num_samples: int, seed: Optional[int] = None,
                 behaviour_logprobs: bool = False):
        """``Rollouts`` of the engine; ``behaviour_logprobs``: with the sampling weights' log-probs (off-policy
        steps take their importance ratios against them)."""
        return self.engine.generate(prompts, num_samples, seed, behaviour_logprobs=behaviour_logprobs)

    def device_identity(self) -> str:
        from pro_rl.rollout.weight_sync import device_identity

        return device_identity(self.engine.device)

    def load_weights(self, payload: dict, version: int) -> int:
        """Copy the policy's weights in: CUDA IPC handles (same GPU), a NCCL broadcast (vLLM on another GPU; the
        policy sends at the same time) or a CPU state dict."""
        transport = payload["transport"]
        if transport == "cuda_ipc":
            self.engine.load_weights_from_ipc(payload["handles"])
        elif transport == "nccl":
            self.engine.receive_weights(payload["metadata"])
        else:
            self.engine.load_weights(payload["state_dict"])
        self.version = version
        return version

    def use_policy(self, path: str) -> None:
        """Generate with the policy saved at ``path`` (same architecture and tokenizer) from now on: the pipelines
        that sample without an RL loop (``pro_rl.rollout.generator``)."""
        from pro_rl.rollout.generator import policy_weights

        self.engine.load_weights(policy_weights(path, self.policy_spec))

    def use_soup(self, paths: Sequence[str], weights: Sequence[float]) -> None:
        """Generate with Rewarded Soups' Σ_k w_k θ_k of the policies at ``paths`` (read once, kept here)."""
        from pro_rl.rollout.generator import SoupWeights

        self.soup = self.soup or SoupWeights(self.policy_spec)
        self.engine.load_weights(self.soup.interpolated(paths, weights))

    def join_weight_group(self, host: str, port: int, rank_offset: int, world_size: int) -> None:
        """Join the policy's NCCL weight group (vLLM engines on another GPU; ``pro_rl.rollout.nccl_group``)."""
        self.engine.join_weight_group(host, port, rank_offset, world_size)

    def sleep(self) -> None:
        """Free this vLLM engine's GPU memory for the policy update; the next ``load_weights`` wakes it."""
        self.engine.sleep()

    def wake_up(self) -> None:
        """Allocate a sleeping engine's memory again (the RL loop's sync does this itself)."""
        self.engine.wake_up()

    def weights_version(self) -> int:
        return self.version
