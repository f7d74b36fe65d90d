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
    return torch.device("cuda" if num_gpus > 0 and torch.cuda.is_available() else "cpu")
