"""Loading ``.pt`` files without running code: ``torch.load(weights_only=True)`` with a short allow-list.

A pickle can name any importable callable and have the unpickler call it, so a crafted checkpoint file runs code on
a plain ``torch.load``. Every ``.pt`` file pro-rl reads goes through ``safe_torch_load``: tensors, containers,
numbers and strings, plus exactly the classes below, which were read off the states the run writes:

- DeepSpeed ZeRO optimizer states (``zero_pp_rank_*_optim_states.pt``, stages 1–3, CPU offload included):
  ``LossScaler``, ``ZeroStageEnum`` and (stages 1–2) ``fragment_address``; the model states
  (``*mp_rank_*_model_states.pt``) with the torch AdamW and LambdaLR states need none (ZeRO 0).
- RNG states of checkpoints written before ``rng.json`` (``rng.pt``): numpy's ``MT19937`` state array
  (``ndarray``, ``dtype``, ``UInt32DType`` and the array reconstructor, under numpy 2's and numpy 1's module names).

Each of these rebuilds plain data (an enum by value, objects by ``__dict__``): none runs arbitrary code.
DeepSpeed reads a checkpoint's files through its pluggable checkpoint engine (``engine.checkpoint_engine.load``),
whose torch implementation unpickles freely; ``SafeCheckpointEngine`` takes its place in every ``TrainEngine``, so
DeepSpeed's reads obey the same rule. (DeepSpeed's universal-checkpoint loader bypasses that engine; pro-rl never
enables it.)
"""

from __future__ import annotations

import importlib
import pickle
from typing import List

import torch

ALLOWED_GLOBALS = (
    "deepspeed.runtime.fp16.loss_scaler.LossScaler",
    "deepspeed.runtime.zero.config.ZeroStageEnum",
    "deepspeed.utils.tensor_fragment.fragment_address",
    "numpy.core.multiarray._reconstruct",
    "numpy._core.multiarray._reconstruct",
    "numpy.ndarray",
    "numpy.dtype",
    "numpy.dtypes.UInt32DType",
)

class UnsafeCheckpointError(RuntimeError):
    """A checkpoint file that cannot be loaded without executing code (or cannot be read at all)."""


def allowed_globals() -> List[object]:
    """The allow-listed objects importable here (numpy moved ``core`` to ``_core``; DeepSpeed may be absent)."""
    found = []
    for dotted in ALLOWED_GLOBALS:
        module_name, _, name = dotted.rpartition(".")
        try:
            found.append(getattr(importlib.import_module(module_name), name))
        except (ImportError, AttributeError):
            continue
    return found


def unpickler_reason(message: str) -> str:
    """The line of torch's long weights-only error that names what was refused."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if "WeightsUnpickler error" in line:
            detail = line.split("WeightsUnpickler error:", 1)[1].strip()
            return detail or (lines[index + 1] if index + 1 < len(lines) else line)
    return lines[0] if lines else "refused by the weights-only unpickler"


def safe_torch_load(path, map_location=None):
    """``torch.load`` with ``weights_only=True`` under the allow-list; a refused or unreadable file raises
    ``UnsafeCheckpointError`` naming it."""
    with torch.serialization.safe_globals(allowed_globals()):
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as error:
            reason = unpickler_reason(str(error))
            raise UnsafeCheckpointError(f"{path}: refused to load, it needs code outside the allow-list of "
                                        f"pro_rl.training.safe_load ({reason})") from None
        except (RuntimeError, EOFError, OSError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise UnsafeCheckpointError(f"{path}: cannot be read as a torch file ({reason})") from None


class SafeCheckpointEngine:
    """A DeepSpeed checkpoint engine whose ``load`` is ``safe_torch_load``; saving and committing are the wrapped
    engine's (``TrainEngine`` installs it as ``engine.checkpoint_engine``)."""

    def __init__(self, wrapped):
        self.wrapped = wrapped

    def load(self, path, map_location=None):
        return safe_torch_load(path, map_location=map_location)

    def __getattr__(self, name):
        return getattr(self.wrapped, name)
