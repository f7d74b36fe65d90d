"""Policy, reference and critic actors: models that compute log-probs / values of (prompt, response) ids.

The policy and the critic train in a DeepSpeed ``TrainEngine``; the reference is frozen. The run's RL algorithm
(an ``pro_rl.rl.RLAlgorithm`` object the driver resolved from the registry and passed in) runs every update: the
actors only own the models, pad ids on their device and hand both to it.

A policy or critic actor is one rank of its role's training group. Alone (``world_size`` 1, the default) it builds
its engine in its constructor, as always. In a group of N (``actors.train_group``) it loads its model, then waits
for ``join_training_group`` with rank 0's address before building the engine, since the engine needs the process
group; the group object hands each rank its share of the rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, Optional, Sequence

import ray
import torch

from actors.common import setup_actor_process

IdLists = Sequence[Sequence[int]]


def _engine_settings(config, learning_rate: float, rows_per_update: int, world_size: int = 1):
    from pro_rl.training.engine import EngineSettings

    mini = config.algorithm.mini_batch_size or rows_per_update
    return EngineSettings(
        learning_rate=learning_rate, batch_size=mini,
        micro_batch_size=config.trainer.micro_batch_size or mini // world_size, gradient_clipping=1.0,
        zero_stage=config.trainer.zero_stage, bf16=config.trainer.bf16,
        gradient_checkpointing=config.trainer.gradient_checkpointing,
        offload_optimizer=config.trainer.offload_optimizer, world_size=world_size,
    )


class _SequenceModel:
    """Shared by the three roles: ids → padded ``SequenceBatch`` on this actor's device."""

    pad_token_id: int
    device: torch.device

    def _batch(self, prompt_ids: IdLists, response_ids: IdLists):
        from pro_rl.training.sequences import make_sequence_batch

        return make_sequence_batch(prompt_ids, response_ids, self.pad_token_id).to(self.device)

    def _update_context(self, seed: int):
        from pro_rl.rl import UpdateContext

        return UpdateContext(engine=self.engine, sequences=self._batch, device=self.device, config=self.config,
                             temperature=self.config.rollout.temperature, seed=seed)


class _TrainingRank(_SequenceModel):
    """One rank of a training group: the engine starts now when alone, after ``join_training_group`` otherwise."""

    engine = None

    def _start_engine(self, model: torch.nn.Module, settings, rank: int) -> None:
        from pro_rl.training.engine import TrainEngine

        self.rank = rank
        if settings.world_size == 1:
            self.engine = TrainEngine(model, settings, self.device)
        else:
            self._pending_engine = (model, settings)

    def training_group_address(self) -> tuple[str, int]:
        """Where the group meets (asked of rank 0): this node's address and a port free on it."""
        from pro_rl.training.distributed import free_port

        return ray.util.get_node_ip_address(), free_port()

    def join_training_group(self, address: tuple[str, int]) -> int:
        """Join the process group at rank 0's ``(host, port)`` and build the engine; returns this rank."""
        from pro_rl.training.distributed import init_process_group
        from pro_rl.training.engine import TrainEngine

        (host, port), (model, settings) = address, self._pending_engine
        init_process_group(self.device, self.rank, settings.world_size, host, port,
                           self.config.trainer.group_timeout_s)
        self.engine = TrainEngine(model, settings, self.device)
        del self._pending_engine
        return self.rank

    def peak_memory_mib(self) -> float:
        """This process's peak resident memory so far (``getrusage`` max RSS), in MiB."""
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@ray.remote
class PolicyActor(_TrainingRank):
    def __init__(self, model_path: str, config, algorithm, num_cpus: float = 1.0, num_gpus: float = 0.0,
                 rank: int = 0, world_size: int = 1):
        from pro_rl.models.builders import load_policy
        from pro_rl.models.tiny_corpus import policy_corpus

        self.device = setup_actor_process(num_cpus, num_gpus)
        self.config = config
        self.algorithm = algorithm
        model, self.tokenizer = load_policy(model_path, config.policy, policy_corpus(config, model_path))
        self.pad_token_id = self.tokenizer.pad_token_id
        settings = _engine_settings(config, config.policy.learning_rate, algorithm.rows_per_update(config), world_size)
        self._start_engine(model, settings, rank)
        self.temperature = config.rollout.temperature
        self.weight_group = None  # the NCCL group of vLLM engines on other GPUs, once the driver forms it

    @torch.no_grad()
    def logprobs(self, prompt_ids: IdLists, response_ids: IdLists) -> torch.Tensor:
        from pro_rl.training.sequences import response_logprobs

        self.engine.eval()
        return response_logprobs(self.engine.module, self._batch(prompt_ids, response_ids),
                                 self.config.trainer.micro_batch_size, self.temperature).cpu()

    def update(self, batch, seed: int) -> Dict[str, float]:
        """One policy update on the algorithm's update batch (``pro_rl.rl.batches``)."""
        return self.algorithm.update_policy(batch, self._update_context(seed))

    def device_identity(self) -> str:
        from pro_rl.rollout.weight_sync import device_identity

        return device_identity(self.device)

    def weights_for_sync(self, transport: str) -> Optional[dict]:
        """The weights for the rollout engines (step 8): CUDA IPC handles or a CPU state dict, whole under ZeRO-3
        (``pro_rl.training.full_weights``; every rank of a ZeRO-3 group takes part in the gathers, rank 0 answers
        and the others return None)."""
        from pro_rl.rollout.weight_sync import cuda_ipc_handles
        from pro_rl.training.full_weights import gather_only, whole_state_dict

        module = self.engine.module
        if self.rank != 0 and self.engine.settings.zero_stage == 3:
            gather_only(module)
            return None
        if transport == "cuda_ipc":  # the shared tensors must outlive the engines' copies: kept to the next sync
            self._ipc_tensors = whole_state_dict(module, self.device)
            return {"transport": transport, "handles": cuda_ipc_handles(self._ipc_tensors)}
        return {"transport": "host", "state_dict": whole_state_dict(module, "cpu")}

    def weight_group_address(self) -> tuple[str, int]:
        """Where the NCCL weight group of the vLLM engines on other GPUs meets: this node and a free port."""
        from pro_rl.rollout.nccl_group import free_port

        return ray.util.get_node_ip_address(), free_port()

    def join_weight_group(self, host: str, port: int, world_size: int) -> None:
        """Rank 0 of the NCCL weight group; returns once every engine worker has joined."""
        from pro_rl.rollout.nccl_group import WeightBroadcastGroup

        self.weight_group = WeightBroadcastGroup.create(host, port, 0, world_size, self.device)

    def weight_metadata(self) -> list:
        """Name, dtype and whole shape of each tensor the NCCL broadcast sends, in order."""
        from pro_rl.training.full_weights import whole_metadata

        return whole_metadata(self.engine.module)

    def broadcast_weights(self) -> int:
        """Send the weights over the NCCL weight group (the engines receive at the same time), a gathered bucket
        at a time under ZeRO-3; the other ranks of a ZeRO-3 group only take part in the gathers."""
        from pro_rl.training.full_weights import gather_only, weight_buckets

        if self.weight_group is None:  # another rank of a ZeRO-3 group: it sends nothing
            gather_only(self.engine.module)
            return 0
        return sum(self.weight_group.send(bucket) for bucket in weight_buckets(self.engine.module))

    def save_state(self, directory: str) -> None:
        self.engine.save_state(Path(directory), tag="policy")

    def load_state(self, directory: str) -> None:
        self.engine.load_state(Path(directory), tag="policy")

    def save_pretrained(self, directory: str) -> str:
        self.engine.save_pretrained(Path(directory), self.tokenizer)
        return directory

    def parameter_checksum(self) -> float:
        return float(sum(p.detach().double().abs().sum() for p in self.engine.module.parameters()))


@ray.remote
class ReferenceActor(_SequenceModel):
    """The frozen initial policy: log-probs for the KL term and DPO."""

    def __init__(self, model_path: str, config, num_cpus: float = 1.0, num_gpus: float = 0.0):
        from pro_rl.models.builders import load_policy
        from pro_rl.models.tiny_corpus import policy_corpus

        self.device = setup_actor_process(num_cpus, num_gpus)
        self.config = config
        model, tokenizer = load_policy(model_path, config.policy, policy_corpus(config, model_path))
        self.pad_token_id = tokenizer.pad_token_id
        if self.device.type == "cuda" and config.trainer.bf16:
            model = model.to(torch.bfloat16)
        self.model = model.to(self.device).eval().requires_grad_(False)

    @torch.no_grad()
    def logprobs(self, prompt_ids: IdLists, response_ids: IdLists) -> torch.Tensor:
        from pro_rl.training.sequences import response_logprobs

        return response_logprobs(self.model, self._batch(prompt_ids, response_ids),
                                 self.config.trainer.micro_batch_size, self.config.rollout.temperature).cpu()


@ray.remote
class CriticActor(_TrainingRank):
    """PPO's value model, initialised from the policy's backbone with a one-output token head."""

    def __init__(self, model_path: str, config, algorithm, num_cpus: float = 1.0, num_gpus: float = 0.0,
                 rank: int = 0, world_size: int = 1):
        from dataclasses import replace

        from pro_rl.models.builders import build_critic, disable_dropout
        from pro_rl.models.tiny_corpus import policy_corpus

        self.device = setup_actor_process(num_cpus, num_gpus)
        self.config = config
        self.algorithm = algorithm
        model, tokenizer = build_critic(replace(config.policy, model=model_path), policy_corpus(config, model_path))
        disable_dropout(model)
        self.pad_token_id = tokenizer.pad_token_id
        settings = _engine_settings(config, config.policy.critic_learning_rate, algorithm.rows_per_update(config),
                                    world_size)
        self._start_engine(model, settings, rank)

    @torch.no_grad()
    def values(self, prompt_ids: IdLists, response_ids: IdLists) -> torch.Tensor:
        from pro_rl.training.sequences import response_values

        self.engine.eval()
        return response_values(self.engine.module, self._batch(prompt_ids, response_ids),
                               self.config.trainer.micro_batch_size).cpu()

    def update(self, batch, seed: int) -> Dict[str, float]:
        """One value-model update on the algorithm's critic batch (``pro_rl.rl.batches.CriticBatch``)."""
        return self.algorithm.update_critic(batch, self._update_context(seed))

    def save_state(self, directory: str) -> None:
        self.engine.save_state(Path(directory), tag="critic")

    def load_state(self, directory: str) -> None:
        self.engine.load_state(Path(directory), tag="critic")
