"""What every actor does on start-up: limit torch threads to its CPU share, pick its device, quiet logs."""

from __future__ import annotations

import logging
import math
import os

import torch


def setup_actor_process(num_cpus: float, num_gpus: float) -> torch.device:
    """Torch threads = the actor's CPU reservation (at least 1); CUDA when the actor holds a GPU share."""
    threads = max(1, math.floor(num_cpus))
    torch.set_num_threads(threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    logging.getLogger("transformers").setLevel(logging.ERROR)
    return actor_device(num_gpus)


def actor_device(num_gpus: float) -> torch.device:
    """``cuda:<index>`` of the GPU Ray gave this actor (always with its index: vLLM's NCCL communicator compares
    devices and ``cuda`` is not ``cuda:0``), or the CPU for an actor without a GPU share."""
    if num_gpus > 0 and torch.cuda.is_available():
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")
