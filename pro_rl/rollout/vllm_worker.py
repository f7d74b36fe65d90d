"""Weight loading inside vLLM's GPU workers: the methods ``VLLMRolloutEngine`` calls through ``LLM.collective_rpc``.

vLLM mixes this class into each of its workers (``LLM(worker_extension_cls=WORKER_EXTENSION)``), so ``self`` is the
worker: ``self.get_model()`` is the engine's model and ``self.rank`` the worker's tensor-parallel rank. Each method
hands (name, tensor) pairs in the trainer's (Hugging Face) naming to the model's own ``load_weights``, which maps
the names onto vLLM's fused layers and keeps this worker's tensor-parallel shard.

This module does not import vLLM at the top (it is imported on CPU machines by the test that checks that).
"""

from __future__ import annotations

from typing import Iterable, Tuple

import torch

from pro_rl.rollout.nccl_group import TensorMetadata, WeightBroadcastGroup
from pro_rl.rollout.weight_sync import IpcHandles, tensors_from_ipc

WORKER_EXTENSION = f"{__name__}.WeightSyncWorkerExtension"


class WeightSyncWorkerExtension:
    """Extra methods of a vLLM worker for the three ways weights arrive from the trainer."""

    weight_group: WeightBroadcastGroup | None = None

    def load_named_tensors(self, weights: Iterable[Tuple[str, torch.Tensor]]) -> int:
        """Load tensors handed over in the call (the engine runs in this process, so nothing is copied on the way)."""
        weights = list(weights)
        with torch.no_grad():
            self.get_model().load_weights(weights=weights)
        return len(weights)

    def load_ipc_tensors(self, handles: IpcHandles) -> int:
        """Copy the trainer's tensors from CUDA IPC handles on this worker's GPU (the trainer shares it)."""
        tensors = tensors_from_ipc(handles, device_index=torch.cuda.current_device())
        with torch.no_grad():
            self.get_model().load_weights(weights=tensors.items())
        torch.cuda.synchronize()
        return len(tensors)

    def join_weight_group(self, host: str, port: int, rank_offset: int, world_size: int) -> None:
        """Join the trainer's NCCL group as rank ``rank_offset + self.rank`` (blocks until every rank has joined)."""
        device = torch.device("cuda", torch.cuda.current_device())
        self.weight_group = WeightBroadcastGroup.create(host, port, rank_offset + self.rank, world_size, device)

    def receive_weight_broadcast(self, metadata: TensorMetadata) -> int:
        """Receive one broadcast of the trainer's weights and load each tensor as it arrives."""
        if self.weight_group is None:
            raise RuntimeError("this vLLM worker has not joined a weight-sync group; call join_weight_group first")
        with torch.no_grad():
            self.get_model().load_weights(weights=self.weight_group.receive(metadata))
        return len(metadata)
