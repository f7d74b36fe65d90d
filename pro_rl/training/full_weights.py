"""Whole weights out of a training engine for the weight sync (step 8), under ZeRO-3 too, a bounded bucket at a time.

Under ZeRO-0/1/2 every rank holds whole parameters and ``module.state_dict()`` is what the rollout engines load.
Under ZeRO-3 each rank holds a 1/N partition of every parameter and the state dict holds empty placeholders, so the
sync must gather first. ``weight_buckets`` walks the state dict in its order, gathers the partitioned parameters of
one bucket (``deepspeed.zero.GatheredParameters``, a collective: every rank of the group walks the buckets
together), hands the bucket to the caller and releases it before gathering the next. The extra device memory of a
sync is therefore one bucket: at most ``bucket_bytes`` of gathered parameters, or one parameter when a single
parameter is larger. What the caller keeps of a bucket it must copy before asking for the next one:

- the host transport copies each bucket to the CPU (host memory: the whole model, the payload itself);
- the NCCL transport broadcasts each bucket as it comes (device memory: one bucket);
- CUDA IPC shares tensors that must stay alive until the engines have copied them, so under ZeRO-3 the bucket is
  cloned into buffers kept until the next sync (device memory: the whole model once more, in the training dtype).

Buffers (never partitioned) and tied parameters (one gather, every name that shares it) pass through as they are.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Mapping

import torch

DEFAULT_BUCKET_BYTES = 256 * 2 ** 20


def is_partitioned(tensor: torch.Tensor) -> bool:
    """True for a ZeRO-3 parameter (its data is this rank's partition, or empty)."""
    return hasattr(tensor, "ds_id")


def whole_bytes(tensor: torch.Tensor) -> int:
    """Bytes of the tensor once gathered."""
    numel = tensor.ds_numel if is_partitioned(tensor) else tensor.numel()
    return int(numel) * tensor.element_size()


def whole_shape(tensor: torch.Tensor) -> tuple:
    return tuple(tensor.ds_shape) if is_partitioned(tensor) else tuple(tensor.shape)


def bucket_names(state: Mapping[str, torch.Tensor], bucket_bytes: int) -> List[List[str]]:
    """The state dict's names in order, cut into buckets of at most ``bucket_bytes`` of partitioned parameters
    (a parameter tied to a name in the same bucket counts once, one tied to an earlier bucket is gathered again
    and counts again; a parameter larger than the limit is a bucket of its own)."""
    if bucket_bytes < 1:
        raise ValueError(f"bucket_bytes must be >= 1, got {bucket_bytes}")
    buckets: List[List[str]] = [[]]
    size, counted = 0, set()
    for name, tensor in state.items():
        cost = whole_bytes(tensor) if is_partitioned(tensor) and id(tensor) not in counted else 0
        if cost and size and size + cost > bucket_bytes:
            buckets.append([])
            size, counted = 0, set()
        buckets[-1].append(name)
        size += cost
        counted.add(id(tensor))
    return [bucket for bucket in buckets if bucket]


def weight_buckets(module: torch.nn.Module, bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> Iterator[Dict[str, torch.Tensor]]:
    """``{name: whole tensor}`` of ``module.state_dict()``, in order, one bucket at a time (see the module docstring).

    Without partitioned parameters it is one bucket of the module's own tensors (no copy). Under ZeRO-3 the tensors
    of a bucket are valid only until the next bucket is asked for.
    """
    return _buckets(module.state_dict(keep_vars=True), bucket_bytes)


def _buckets(state: Mapping[str, torch.Tensor], bucket_bytes: int) -> Iterator[Dict[str, torch.Tensor]]:
    if not any(is_partitioned(tensor) for tensor in state.values()):
        yield {name: tensor.detach() for name, tensor in state.items()}
        return
    import deepspeed

    for names in bucket_names(state, bucket_bytes):
        unique = {id(state[name]): state[name] for name in names if is_partitioned(state[name])}
        with deepspeed.zero.GatheredParameters(list(unique.values()), modifier_rank=None):
            yield {name: state[name].detach() for name in names}


def whole_metadata(module: torch.nn.Module) -> List[tuple]:
    """(name, dtype name, whole shape) of each state-dict tensor, in ``weight_buckets``' order (for the NCCL
    receivers, which allocate before each broadcast)."""
    return [(name, str(tensor.dtype).removeprefix("torch."), whole_shape(tensor))
            for name, tensor in module.state_dict(keep_vars=True).items()]


def whole_state_dict(module: torch.nn.Module, device: str | torch.device = "cpu",
                     bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> Dict[str, torch.Tensor]:
    """Every tensor on ``device``, gathered a bucket at a time under ZeRO-3 and then copied (a gathered bucket is
    released afterwards); without ZeRO-3 a tensor already on ``device`` is the module's own."""
    state = module.state_dict(keep_vars=True)
    copy = any(is_partitioned(tensor) for tensor in state.values())
    return {name: tensor.to(device, copy=copy) for bucket in _buckets(state, bucket_bytes)
            for name, tensor in bucket.items()}


def gather_only(module: torch.nn.Module, bucket_bytes: int = DEFAULT_BUCKET_BYTES) -> int:
    """Take part in a ZeRO-3 group's gathers without keeping anything (the ranks other than the one that sends);
    returns the number of buckets."""
    return sum(1 for _ in weight_buckets(module, bucket_bytes))
