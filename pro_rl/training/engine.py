"""The DeepSpeed engine wrapper: one code path on CPU (gloo) and CUDA (nccl).

Every trained model — reward models, the orchestrator, the policy and the critic — goes through ``TrainEngine``:
``deepspeed.initialize`` with a torch AdamW optimizer (DeepSpeed's CPU Adam only when ZeRO offload asks for it),
a linear warm-up schedule, gradient clipping and gradient accumulation. By default one process is one rank of its
own single-rank group; an actor or a script that trains several models shares that group. A training group of N
ranks (``pro_rl.training.distributed``) joins its process group before building the engine and sets
``EngineSettings.world_size`` to N: ``batch_size`` stays the global mini-batch, each rank accumulates
``batch_size / (micro_batch_size * N)`` micro-batches, and DeepSpeed averages the gradients over the ranks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import torch

from pro_rl.training.distributed import group_rank, init_process_group
from pro_rl.training.safe_load import SafeCheckpointEngine

logger = logging.getLogger("pro_rl.training")


@dataclass
class EngineSettings:
    """What the engine needs, gathered from a TrainingConfig and the TrainerConfig."""

    learning_rate: float
    weight_decay: float = 0.0
    batch_size: int = 1
    micro_batch_size: int = 0
    warmup_steps: int = 0
    gradient_clipping: float = 1.0
    zero_stage: int = 0
    bf16: bool = False
    gradient_checkpointing: bool = False
    offload_optimizer: bool = False
    world_size: int = 1  # ranks of the data-parallel group; batch_size counts the rows of all of them

    @property
    def gradient_accumulation_steps(self) -> int:
        """Micro-batches per rank in one optimizer step: batch_size = micro × accumulation × world_size."""
        micro = self.micro_batch_size or self.batch_size // self.world_size
        if micro < 1 or self.batch_size % (micro * self.world_size):
            raise ValueError(f"batch_size {self.batch_size} is not a multiple of micro_batch_size {micro} "
                             f"× {self.world_size} rank(s)")
        return self.batch_size // (micro * self.world_size)


def settings_from(training, trainer=None) -> EngineSettings:
    """EngineSettings from a ``TrainingConfig`` (and optionally the ``TrainerConfig``)."""
    settings = EngineSettings(
        learning_rate=training.learning_rate, weight_decay=training.weight_decay, batch_size=training.batch_size,
        micro_batch_size=training.micro_batch_size, warmup_steps=training.warmup_steps,
        gradient_clipping=training.gradient_clipping,
    )
    if trainer is not None:
        settings.zero_stage = trainer.zero_stage
        settings.bf16 = trainer.bf16
        settings.gradient_checkpointing = trainer.gradient_checkpointing
        settings.offload_optimizer = trainer.offload_optimizer
    return settings


def deepspeed_config(settings: EngineSettings, device: torch.device) -> dict:
    micro = settings.micro_batch_size or settings.batch_size // settings.world_size
    config = {
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": settings.gradient_accumulation_steps,
        "gradient_clipping": settings.gradient_clipping,
        "zero_optimization": {"stage": settings.zero_stage},
        "zero_allow_untested_optimizer": True,
        "steps_per_print": 10**9,
        "wall_clock_breakdown": False,
    }
    if settings.bf16 and device.type == "cuda":
        config["bf16"] = {"enabled": True}
    if settings.offload_optimizer:
        config["zero_optimization"]["offload_optimizer"] = {"device": "cpu", "pin_memory": device.type == "cuda"}
        config["optimizer"] = {"type": "AdamW", "params": {"lr": settings.learning_rate,
                                                           "weight_decay": settings.weight_decay}}
    if settings.zero_stage == 3:
        config["zero_optimization"].update({"stage3_gather_16bit_weights_on_model_save": True})
    return config


class TrainEngine:
    """A model in a DeepSpeed engine with AdamW, warm-up, clipping and gradient accumulation."""

    def __init__(self, model: torch.nn.Module, settings: EngineSettings, device: torch.device):
        import deepspeed

        init_process_group(device)
        self.rank, world_size = group_rank()
        if world_size != settings.world_size:
            raise ValueError(f"EngineSettings.world_size is {settings.world_size} but the process group has "
                             f"{world_size} rank(s)")
        self.settings = settings
        self.device = device
        if settings.gradient_checkpointing and hasattr(model, "gradient_checkpointing_enable"):
            model.gradient_checkpointing_enable()
        model.to(device)
        config = deepspeed_config(settings, device)
        parameters = [p for p in model.parameters() if p.requires_grad]
        optimizer = None
        if "optimizer" not in config:
            optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=settings.weight_decay)
        warmup = max(settings.warmup_steps, 0)

        def schedule(opt):
            return torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup) if warmup else 1.0)

        self.engine, self.optimizer, _, self.scheduler = deepspeed.initialize(
            model=model, model_parameters=parameters, optimizer=optimizer, lr_scheduler=schedule, config=config,
        )
        self.engine.checkpoint_engine = SafeCheckpointEngine(self.engine.checkpoint_engine)
        self.micro_steps = 0

    @property
    def module(self) -> torch.nn.Module:
        return self.engine.module

    @property
    def gradient_accumulation_steps(self) -> int:
        return self.settings.gradient_accumulation_steps

    @property
    def global_steps(self) -> int:
        return int(self.engine.global_steps)

    def __call__(self, *args, **kwargs):
        return self.engine(*args, **kwargs)

    def train(self) -> None:
        self.engine.train()

    def eval(self) -> None:
        self.engine.eval()

    def backward(self, loss: torch.Tensor) -> None:
        """Backward for one micro-batch; DeepSpeed scales by 1/gradient_accumulation_steps."""
        self.engine.backward(loss)

    def step(self) -> None:
        """Optimizer step at the accumulation boundary (DeepSpeed decides), clipping and scheduler included."""
        self.engine.step()

    def learning_rate(self) -> float:
        return float(self.engine.get_lr()[0])

    def save_state(self, directory: Path, tag: str = "engine") -> None:
        """Model, optimizer and scheduler state (DeepSpeed's own checkpoint layout) under ``directory/tag``."""
        self.engine.save_checkpoint(str(directory), tag=tag)

    def load_state(self, directory: Path, tag: str = "engine") -> None:
        """Restore ``save_state``'s files. DeepSpeed reads them through ``SafeCheckpointEngine``
        (``pro_rl.training.safe_load``): a file that would run code raises ``UnsafeCheckpointError`` naming it."""
        if not (Path(directory) / tag).is_dir():
            raise FileNotFoundError(f"no DeepSpeed checkpoint '{tag}' under {directory}")
        path, _ = self.engine.load_checkpoint(str(directory), tag=tag)
        if path is None:
            raise FileNotFoundError(f"no DeepSpeed checkpoint '{tag}' under {directory}")

    def save_pretrained(self, directory: Path, tokenizer=None) -> None:
        """The trained model in Hugging Face layout (loadable by transformers and vLLM). LoRA adapters are merged
        into the weights first, in place, so saving a LoRA model ends its training.

        In a group every rank calls this (ZeRO-3 gathers the partitions collectively); rank 0 alone writes."""
        from pro_rl.models.lora import is_lora, merged

        directory = Path(directory)
        if is_lora(self.module):
            model, state_dict = merged(self.module), None
        else:
            model, state_dict = self.module, None
            if self.settings.zero_stage == 3:
                state_dict = self.engine._zero3_consolidated_16bit_state_dict()
        if self.rank != 0:
            return
        directory.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(directory, state_dict=state_dict, safe_serialization=True)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)


def parameters_changed(before: Iterable[torch.Tensor], after: Iterable[torch.Tensor]) -> bool:
    """True when any tensor differs (used by tests and sanity checks)."""
    return any(not torch.equal(a, b) for a, b in zip(before, after))
