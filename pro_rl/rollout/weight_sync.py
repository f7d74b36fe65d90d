"""Weight sync from the trainer to the rollout engines (step 8 of an RL step).

Two transports, chosen per rollout engine by where it runs:

- ``cuda_ipc`` — the engine shares the trainer's GPU (colocated roles with fractional ``num_gpus``): the trainer
  sends CUDA IPC handles of its parameters (a few hundred bytes each) and the engine copies from the trainer's
  memory directly, device to device. Nothing crosses the host or the object store, which is why colocated
  placement is the default on one GPU.
- ``host`` — any other placement (CPU runs, another GPU or node): a CPU copy of the state dict travels through
  Ray's object store. On separate GPUs a NCCL broadcast group would avoid the host round trip; the hf backend
  uses the object store there.

The trainer must keep the shared tensors alive until every engine has copied them; the sync call returns only
after all engines acknowledged, and the parameters live on in the trainer, so this holds.
"""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Tuple

import torch

IpcHandles = Dict[str, Tuple[Callable, tuple]]


def device_identity(device: torch.device) -> str:
    """A string naming the physical device: the GPU's UUID (the same in every process), or 'cpu'."""
    if device.type != "cuda":
        return "cpu"
    return str(torch.cuda.get_device_properties(device).uuid)


def cuda_ipc_handles(state_dict: Mapping[str, torch.Tensor]) -> IpcHandles:
    """Picklable CUDA IPC handles of each tensor (``torch.multiprocessing`` reductions)."""
    from torch.multiprocessing.reductions import reduce_tensor

    return {name: reduce_tensor(tensor.detach().contiguous()) for name, tensor in state_dict.items()}


def tensors_from_ipc(handles: IpcHandles) -> Dict[str, torch.Tensor]:
    """The tensors behind ``cuda_ipc_handles``, mapped into this process (no copy yet)."""
    return {name: rebuild(*arguments) for name, (rebuild, arguments) in handles.items()}


def host_state_dict(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu() for name, tensor in state_dict.items()}
