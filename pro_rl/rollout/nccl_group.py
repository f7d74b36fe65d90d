"""The ``nccl`` weight-sync transport: the trainer broadcasts its weights to vLLM engines on other GPUs.

One group per run: rank 0 is the trainer (the policy actor); engine i's tensor-parallel workers take ranks
``1 + i * tp ... tp + i * tp``. It is formed with vLLM's ``StatelessProcessGroup`` (a TCP store hosted by rank 0,
outside ``torch.distributed``'s global group, so the trainer's DeepSpeed group and each engine's own
tensor-parallel group stay as they are) and a ``PyNcclCommunicator`` for the data — the route TRL's vLLM client and
OpenRLHF take. Every rank must call ``WeightBroadcastGroup.create`` at once: it blocks until the group is complete.

A sync broadcasts the state dict tensor by tensor, in the trainer's ``state_dict()`` order, from rank 0. The
receivers know that order, the dtypes and the shapes beforehand (``tensor_metadata``, sent once through Ray), so
each engine allocates one tensor at a time, receives it and hands it to the model's ``load_weights``: the extra GPU
memory on the engine side is one tensor. Every worker of a tensor-parallel engine receives the full tensor and its
weight loader keeps its shard. Broadcasts run on the current CUDA stream, so the next kernel on either side waits
for them.

Simplification: an engine that dies during a broadcast leaves the trainer blocked in NCCL (NCCL has no timeout
here); the run then has to be resumed from its last checkpoint. An engine that dies between syncs is handled by the
driver, which forms a new group with every engine (``pipelines.rl_stages.push_weights``).

vLLM is imported inside the functions: this module is imported on CPU machines where vLLM is not installed.
"""

from __future__ import annotations

import socket
from typing import Iterator, List, Mapping, Tuple

import torch

TensorMetadata = List[Tuple[str, str, Tuple[int, ...]]]


def free_port() -> int:
    """A TCP port that is free on every interface of this machine now (the group's rendezvous port)."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def tensor_metadata(state_dict: Mapping[str, torch.Tensor]) -> TensorMetadata:
    """(name, dtype name, shape) of each tensor, in the order ``WeightBroadcastGroup.send`` broadcasts them."""
    return [(name, str(tensor.dtype).removeprefix("torch."), tuple(tensor.shape))
            for name, tensor in state_dict.items()]


class WeightBroadcastGroup:
    """One rank's end of the trainer → engines NCCL group."""

    def __init__(self, communicator, device: torch.device):
        self.communicator = communicator
        self.device = device

    @classmethod
    def create(cls, host: str, port: int, rank: int, world_size: int, device: torch.device) -> "WeightBroadcastGroup":
        """Join the group whose rank 0 listens on ``host:port``; returns once all ``world_size`` ranks have joined."""
        from vllm.distributed.device_communicators.pynccl import PyNcclCommunicator
        from vllm.distributed.utils import StatelessProcessGroup

        group = StatelessProcessGroup.create(host=host, port=port, rank=rank, world_size=world_size)
        return cls(PyNcclCommunicator(group, device=device), device)

    def send(self, state_dict: Mapping[str, torch.Tensor]) -> int:
        """Broadcast every tensor from rank 0 (the trainer); returns how many were sent."""
        stream = torch.cuda.current_stream(self.device)
        for tensor in state_dict.values():
            self.communicator.broadcast(tensor.detach().contiguous(), src=0, stream=stream)
        stream.synchronize()
        return len(state_dict)

    def receive(self, metadata: TensorMetadata) -> Iterator[Tuple[str, torch.Tensor]]:
        """(name, tensor) pairs as they arrive from rank 0, one buffer at a time (feed them to ``load_weights``)."""
        stream = torch.cuda.current_stream(self.device)
        for name, dtype, shape in metadata:
            buffer = torch.empty(shape, dtype=getattr(torch, dtype), device=self.device)
            self.communicator.broadcast(buffer, src=0, stream=stream)
            yield name, buffer
