"""Atomic checkpoints: write into a hidden temp directory, then rename.

Layout: ``<run>/checkpoints/step-NNNNNN/`` holds whatever the caller writes (DeepSpeed engine states under
their own tags, ``trainer_state.json``, ``rng.pt``). A checkpoint directory exists under its final name only once
it is complete, so a run killed during a write leaves the previous checkpoint usable; the half-written
``.tmp-step-NNNNNN`` is removed on the next start.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import torch

STEP_PATTERN = re.compile(r"^step-(\d{6,})$")
STATE_FILE = "trainer_state.json"


def checkpoint_name(step: int) -> str:
    return f"step-{step:06d}"


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under ``root``, oldest first."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = STEP_PATTERN.match(child.name)
        if match and child.is_dir() and (child / STATE_FILE).is_file():
            found.append((int(match.group(1)), child))
    return sorted(found)


def latest_checkpoint(root: Path) -> Optional[Path]:
    checkpoints = list_checkpoints(root)
    return checkpoints[-1][1] if checkpoints else None


def remove_partial(root: Path) -> int:
    """Delete half-written checkpoints left by a killed run; returns how many."""
    if not root.is_dir():
        return 0
    partial = [child for child in root.iterdir() if child.name.startswith(".tmp-")]
    for child in partial:
        shutil.rmtree(child, ignore_errors=True)
    return len(partial)


@contextmanager
def atomic_checkpoint(root: Path, step: int, state: dict, keep: int = 2) -> Iterator[Path]:
    """Yield a temp directory to fill; on success write ``state`` and rename it to ``step-NNNNNN``.

    ``state`` is JSON (step, data position, normaliser, KL controller, ...); RNG states are saved beside it.
    Older checkpoints beyond ``keep`` are deleted after the rename.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    temp = root / f".tmp-{checkpoint_name(step)}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    yield temp
    torch.save(rng_state(), temp / "rng.pt")
    (temp / STATE_FILE).write_text(json.dumps({"step": step, **state}, indent=2))
    if final.exists():
        shutil.rmtree(final)
    temp.rename(final)
    for _, old in list_checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)


def read_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / STATE_FILE).read_text())


def rng_state() -> dict:
    return {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}


def restore_rng(checkpoint: Path) -> None:
    path = checkpoint / "rng.pt"
    if not path.is_file():
        return
    state = torch.load(path, weights_only=False)
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
