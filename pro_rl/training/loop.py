"""The single-process supervised loop shared by reward-model, orchestrator and SFT training.

Data order is a pure function of (seed, step): epoch e is the permutation ``randperm(N, seed + e)`` and step s
takes examples [s·B, (s+1)·B) of the concatenated epochs. A resumed run therefore sees exactly the batches an
uninterrupted run would, without saving a data-loader state. Ctrl-C and SIGTERM stop the loop at a step
boundary with a checkpoint of that step (``pro_rl.training.interrupts``), so a resumed run loses no work.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch
from tqdm.auto import tqdm

from pro_rl.training import interrupts
from pro_rl.training.checkpoint import atomic_checkpoint, latest_checkpoint, read_state, remove_partial, restore_rng
from pro_rl.training.engine import TrainEngine
from pro_rl.training.metrics import MetricsLogger

logger = logging.getLogger("pro_rl.training")


def batch_indices(num_examples: int, batch_size: int, step: int, seed: int) -> List[int]:
    """Indices of the examples of optimizer step ``step`` (0-based)."""
    if num_examples < 1:
        raise ValueError("no training examples")
    indices: List[int] = []
    position = step * batch_size
    while len(indices) < batch_size:
        epoch, offset = divmod(position, num_examples)
        generator = torch.Generator().manual_seed(seed + epoch)
        order = torch.randperm(num_examples, generator=generator).tolist()
        take = min(batch_size - len(indices), num_examples - offset)
        indices.extend(order[offset:offset + take])
        position += take
    return indices


def total_steps(num_examples: int, training) -> int:
    """Optimizer steps of a supervised stage from its ``TrainingConfig``: ``epochs`` passes over the data, raised to
    ``min_steps`` (more passes over small data), capped by ``max_steps``."""
    steps = max(1, math.ceil(training.epochs * num_examples / training.batch_size), training.min_steps)
    return min(steps, training.max_steps) if training.max_steps > 0 else steps


def micro_batches(indices: List[int], micro_batch_size: int) -> List[List[int]]:
    size = micro_batch_size or len(indices)
    return [indices[start:start + size] for start in range(0, len(indices), size)]


@dataclass
class LoopSettings:
    name: str
    steps: int
    batch_size: int
    micro_batch_size: int
    seed: int
    eval_every: int = 0
    checkpoint_every: int = 0
    keep_checkpoints: int = 2
    resume: bool = False
    progress: bool = True
    extra_state: Dict = field(default_factory=dict)
    metrics_marker: str = ""  # a substring of this loop's metric keys, when several loops share one metrics.jsonl


def resume_step(engine: TrainEngine, settings: LoopSettings, metrics: MetricsLogger,
                checkpoint_root: Optional[Path]) -> int:
    """Remove half-written checkpoints; with ``settings.resume``, restore the newest complete one and drop this
    loop's metric lines it has not reached. Returns the step to start from."""
    if checkpoint_root is None:
        return 0
    remove_partial(checkpoint_root)
    found = latest_checkpoint(checkpoint_root) if settings.resume else None
    if found is None:
        return 0
    engine.load_state(found)
    restore_rng(found)
    start = read_state(found)["step"]
    metrics.drop_records(lambda record: owned_after(record, start, settings.metrics_marker))
    logger.info("%s: resumed from %s (step %d)", settings.name, found, start)
    return start


def owned_after(record: dict, start: int, marker: str) -> bool:
    """A metric line of this loop that a run resumed at ``start`` logs again: a later step, or the final evaluation
    (the one line without ``train/learning_rate``) at ``start`` itself."""
    if marker and not any(marker in key for key in record):
        return False
    step = record.get("step", 0)
    return step > start or (step == start and "train/learning_rate" not in record)


def save_checkpoint(engine: TrainEngine, settings: LoopSettings, checkpoint_root: Path, step: int) -> None:
    with atomic_checkpoint(checkpoint_root, step, settings.extra_state, settings.keep_checkpoints) as directory:
        engine.save_state(directory)


def fit(
    engine: TrainEngine,
    num_examples: int,
    loss_of: Callable[[List[int]], tuple],
    evaluate: Callable[[], Dict[str, float]],
    settings: LoopSettings,
    metrics: MetricsLogger,
    checkpoint_root: Optional[Path] = None,
) -> Dict[str, float]:
    """Train ``settings.steps`` optimizer steps; ``loss_of(indices) -> (loss, stats)`` for one micro-batch.

    Evaluates every ``eval_every`` steps and at the end, checkpoints every ``checkpoint_every`` steps
    (atomically, resumable), and returns the last evaluation. A SIGINT/SIGTERM inside
    ``interrupts.handling_signals`` stops the loop after the current step: a checkpoint of that step is written
    (when the loop has a checkpoint root) and ``RunInterrupted`` is raised.
    """
    start = resume_step(engine, settings, metrics, checkpoint_root)
    engine.train()
    bar = tqdm(total=settings.steps, initial=start, desc=settings.name, disable=not settings.progress, leave=False)
    for step in range(start, settings.steps):
        totals = train_step(engine, num_examples, loss_of, settings, step)
        done = step + 1
        values = {**totals, "train/learning_rate": engine.learning_rate()}
        if settings.eval_every and done % settings.eval_every == 0 and done < settings.steps:
            engine.eval()
            values.update(evaluate())
            engine.train()
        metrics.log(done, values)
        bar.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in list(totals.items())[:2]})
        bar.update(1)
        due = settings.checkpoint_every and done % settings.checkpoint_every == 0
        if checkpoint_root is not None and (due or interrupts.requested()):
            save_checkpoint(engine, settings, checkpoint_root, done)
        if interrupts.requested():
            bar.close()
            raise interrupts.interrupted(done)
    bar.close()
    engine.eval()
    evaluation = evaluate()
    metrics.log(settings.steps, evaluation)
    return evaluation


def train_step(engine: TrainEngine, num_examples: int, loss_of: Callable[[List[int]], tuple],
               settings: LoopSettings, step: int) -> Dict[str, float]:
    """One optimizer step over its micro-batches; the stats averaged over the step's examples."""
    indices = batch_indices(num_examples, settings.batch_size, step, settings.seed)
    totals: Dict[str, float] = {}
    for chunk in micro_batches(indices, settings.micro_batch_size):
        loss, stats = loss_of(chunk)
        engine.backward(loss)
        engine.step()
        for key, value in stats.items():
            totals[key] = totals.get(key, 0.0) + float(value) * len(chunk) / len(indices)
    return totals
