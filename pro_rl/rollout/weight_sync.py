"""Weight sync from the trainer to the rollout engines (step 8 of an RL step): the transports, Ray-free.

The object that drives a sync — which engine gets which transport, each actor's device, the NCCL group — is the
roles' ``actors.weight_sync.WeightSync``; this module holds what runs inside the trainer and the engines.

Three transports, chosen per rollout engine by where it runs (``weight_transport``):

- ``cuda_ipc`` — the engine shares the trainer's GPU (colocated roles with fractional ``num_gpus``): the trainer
  sends CUDA IPC handles of its parameters (a few hundred bytes each) and the engine copies from the trainer's
  memory directly, device to device. Nothing crosses the host or the object store, which is why colocated
  placement is the default on one GPU. Both backends take it (a vLLM engine with ``tensor_parallel_size`` 1).
- ``nccl`` — a vLLM engine on another GPU or node: the trainer broadcasts each tensor over a NCCL group it shares
  with the engines' workers (``pro_rl.rollout.nccl_group``); only names, dtypes and shapes travel through Ray.
- ``host`` — an hf engine anywhere else (CPU runs, another GPU or node): a CPU copy of the state dict travels
  through Ray's object store. It is simple and the hf backend is the small-scale one; vLLM engines never use it.

The trainer must keep the shared tensors alive until every engine has copied them; the sync call returns only
after all engines acknowledged, and the parameters live on in the trainer, so this holds.
"""

from __future__ import annotations

from typing import Callable, Dict, Mapping, Optional, Tuple

import torch

IpcHandles = Dict[str, Tuple[Callable, tuple]]

# Position of the device index in the arguments of ``torch.multiprocessing.reductions.rebuild_cuda_tensor``.
_IPC_DEVICE_ARGUMENT = 6


def device_identity(device: torch.device) -> str:
    """A string naming the physical device: the GPU's UUID (the same in every process), or 'cpu'."""
    if device.type != "cuda":
        return "cpu"
    return str(torch.cuda.get_device_properties(device).uuid)


def weight_transport(backend: str, engine_device: str, policy_device: str) -> str:
    """``cuda_ipc`` on the policy's GPU, else ``nccl`` for a vLLM engine and ``host`` for an hf one.

    ``engine_device`` and ``policy_device`` are ``device_identity`` strings.
    """
    if engine_device == policy_device != "cpu":
        return "cuda_ipc"
    return "nccl" if backend == "vllm" else "host"


def cuda_ipc_handles(state_dict: Mapping[str, torch.Tensor]) -> IpcHandles:
    """Picklable CUDA IPC handles of each tensor (``torch.multiprocessing`` reductions)."""
    from torch.multiprocessing.reductions import reduce_tensor

    return {name: reduce_tensor(tensor.detach().contiguous()) for name, tensor in state_dict.items()}


def tensors_from_ipc(handles: IpcHandles, device_index: Optional[int] = None) -> Dict[str, torch.Tensor]:
    """The tensors behind ``cuda_ipc_handles``, mapped into this process (no copy yet).

    ``device_index``: this process's index of the shared GPU, when it differs from the sender's (a vLLM worker
    numbers its devices on its own); ``None`` keeps the sender's.
    """
    tensors = {}
    for name, (rebuild, arguments) in handles.items():
        if device_index is not None:
            arguments = (*arguments[:_IPC_DEVICE_ARGUMENT], device_index, *arguments[_IPC_DEVICE_ARGUMENT + 1:])
        tensors[name] = rebuild(*arguments)
    return tensors


def host_state_dict(state_dict: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu() for name, tensor in state_dict.items()}
