"""Data-parallel training groups: the process group of a role's ranks, and how rows are shared between them.

A training role (policy, critic) with ``resources.<role>.replicas: N`` runs N processes, each one rank of one
``torch.distributed`` group (gloo on CPU, nccl on CUDA) under DeepSpeed. This module holds the Ray-free parts:

- ``init_process_group``: joins (or, for one rank, creates) the group at an explicit ``tcp://host:port`` address
  with a bounded timeout, so a rank that dies makes its peers' next collective fail instead of hanging for ever;
- ``rank_share``: the rows of one mini-batch that a rank trains on. Every rank draws the same seeded mini-batches
  (``rl_update.shuffled_mini_batches``) and takes its contiguous 1/N of each; DeepSpeed averages the gradients over
  the ranks, so with each micro-batch loss a mean over its rows, one optimizer step follows the mean loss over the
  whole mini-batch, exactly as with one rank (up to float summation order);
- ``row_shares`` / ``merge_rows``: an inference pass (log-probs, values) cut into N equal shares — the last one
  padded with copies of the final row, so that every rank runs the same number of forward passes (ZeRO-3 gathers
  parameters collectively in each) — and the ranks' (rows, R_i) outputs put back as one (N_rows, R) tensor.
"""

from __future__ import annotations

import datetime
import os
import socket
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

LOOPBACK = "127.0.0.1"


def free_port(host: str = "") -> int:
    """A TCP port free on this machine now (bound on all interfaces unless ``host`` is given)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def init_process_group(device: torch.device, rank: int = 0, world_size: int = 1, host: str = LOOPBACK,
                       port: int = 0, timeout_s: float = 600.0) -> None:
    """The process group DeepSpeed trains in (gloo on CPU, nccl on CUDA); does nothing if one exists.

    One rank (the default) makes a group of its own on the loopback address and a free port. Several ranks meet
    at rank 0's ``host:port`` (rank 0 listens there; see ``actors.train_group``). ``timeout_s`` bounds every
    collective: a rank whose peer died raises after it rather than waiting for ever.

    The rendezvous address is passed explicitly instead of through MASTER_ADDR/MASTER_PORT: those variables are
    inherited by every Ray worker a driver starts, and two groups must never share a port.
    """
    import deepspeed

    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return
    if world_size > 1 and not port:
        raise ValueError(f"rank {rank} of {world_size}: a group of several ranks needs rank 0's port")
    ranks = {"RANK": str(rank), "LOCAL_RANK": "0", "WORLD_SIZE": str(world_size), "LOCAL_WORLD_SIZE": "1"}
    for key, value in ranks.items():  # one GPU per actor: Ray makes it cuda:0 in each process
        if world_size == 1:
            os.environ.setdefault(key, value)
        else:
            os.environ[key] = value
    deepspeed.init_distributed(dist_backend="nccl" if device.type == "cuda" else "gloo", auto_mpi_discovery=False,
                               verbose=False, init_method=f"tcp://{host}:{port or free_port(LOOPBACK)}", rank=rank,
                               world_size=world_size, timeout=datetime.timedelta(seconds=timeout_s))


def group_rank() -> Tuple[int, int]:
    """(rank, world size) of this process's group; (0, 1) when there is none."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def rank_share(mini_batch_indices: Tensor, rank: int, world_size: int) -> Tensor:
    """The contiguous 1/``world_size`` of a mini-batch's row indices that ``rank`` trains on."""
    if len(mini_batch_indices) % world_size:
        raise ValueError(f"a mini-batch of {len(mini_batch_indices)} rows does not split over {world_size} ranks")
    return mini_batch_indices.tensor_split(world_size)[rank]


def row_shares(num_rows: int, world_size: int) -> List[List[int]]:
    """Row indices per rank for an inference pass: ``ceil(num_rows / world_size)`` each, in order; the last
    shares are padded with the final row, so every rank gets as many rows (``merge_rows`` drops the copies)."""
    if num_rows < 1:
        raise ValueError("an inference pass over a group needs at least one row")
    size = -(-num_rows // world_size)
    return [[min(index, num_rows - 1) for index in range(rank * size, (rank + 1) * size)] for rank in range(world_size)]


def take_rows(rows: Sequence, indices: Sequence[int]) -> list:
    return [rows[index] for index in indices]


def merge_rows(parts: Sequence[Tensor], num_rows: int) -> Tensor:
    """The ranks' (rows_i, R_i) outputs of ``row_shares`` as one (num_rows, max R_i) tensor.

    Columns past a part's own R_i are response padding, where log-probs and values are 0 already (so 0-padding
    gives what a single rank computes over the whole batch); rows past ``num_rows`` are the padding copies.
    """
    width = max(part.shape[1] for part in parts)
    padded = [torch.nn.functional.pad(part, (0, width - part.shape[1])) for part in parts]
    return torch.cat(padded, dim=0)[:num_rows]


def mean_stats(per_rank: Sequence[dict]) -> dict:
    """The ranks' update statistics averaged key by key (every rank ran as many micro-batches)."""
    return {key: sum(stats[key] for stats in per_rank) / len(per_rank) for key in per_rank[0]}
