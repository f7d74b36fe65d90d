"""Atomic checkpoints: write into a hidden temp directory, seal it with a manifest, then rename.

Layout: ``<run>/checkpoints/step-NNNNNN/`` holds whatever the caller writes (DeepSpeed engine states under their
own tags), ``trainer_state.json``, ``rng.json`` and, written last, ``manifest.json``: every other file's size and,
for files up to ``HASH_LIMIT_BYTES``, its sha256. A checkpoint is complete when its manifest verifies:

- a run killed while writing leaves ``.tmp-step-NNNNNN``, which never counts and is removed on the next start;
- pruning renames a checkpoint to ``.trash-step-NNNNNN`` before deleting it, so a prune cut short leaves a
  ``.trash-`` directory (removed on the next start), never a half-deleted ``step-`` directory;
- ``latest_checkpoint`` returns the newest checkpoint that verifies and logs a warning for each newer one it skips
  (no manifest, a file missing, truncated or changed).

Hashing costs about 2.6 s per GB on two CPU cores (0.38 GB/s measured), as much again as writing a large engine
state; big files are therefore checked by size only, which is what an interrupted write changes. The manifest is a
completeness check, not a signature: loading stays safe through ``pro_rl.training.safe_load`` whatever it says.

Checkpoints written before manifests existed (``trainer_state.json`` but no ``manifest.json``) are accepted with a
warning when no newer checkpoint verifies: the old writer already renamed a finished checkpoint into place, and only
an interrupted prune could damage one, which only ever touched checkpoints older than the newest; their files still
go through the safe loader. Refusing them would throw away every run started before this change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import torch

from pro_rl.training.safe_load import safe_torch_load

logger = logging.getLogger("pro_rl.training")

STEP_PATTERN = re.compile(r"^step-(\d{6,})$")
STATE_FILE = "trainer_state.json"
MANIFEST_FILE = "manifest.json"
RNG_FILE = "rng.json"
LEGACY_RNG_FILE = "rng.pt"
HASH_LIMIT_BYTES = 64 * 2**20
TEMP_PREFIX, TRASH_PREFIX = ".tmp-", ".trash-"


def checkpoint_name(step: int) -> str:
    return f"step-{step:06d}"


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    """Sealed checkpoints under ``root`` (a manifest, or a legacy ``trainer_state.json``), oldest first.
    Only the presence of the marker is checked here; ``verify_checkpoint`` checks the files."""
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = STEP_PATTERN.match(child.name)
        if match and child.is_dir() and ((child / MANIFEST_FILE).is_file() or (child / STATE_FILE).is_file()):
            found.append((int(match.group(1)), child))
    return sorted(found)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(2**20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_records(directory: Path) -> dict:
    """``{relative path: {"size": bytes[, "sha256": hex]}}`` of every file under ``directory`` but the manifest."""
    records = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        name = path.relative_to(directory).as_posix()
        if name == MANIFEST_FILE:
            continue
        size = path.stat().st_size
        records[name] = {"size": size, **({"sha256": sha256_of(path)} if size <= HASH_LIMIT_BYTES else {})}
    return records


def write_manifest(directory: Path, step: int) -> None:
    manifest = {"step": step, "files": file_records(directory)}
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1))


def verify_checkpoint(checkpoint: Path) -> Optional[str]:
    """None when ``checkpoint`` is complete, else why not (one line)."""
    manifest_path = checkpoint / MANIFEST_FILE
    if not manifest_path.is_file():
        return "no manifest.json (not sealed)"
    try:
        files = json.loads(manifest_path.read_text())["files"]
    except (ValueError, KeyError, TypeError) as error:
        return f"manifest.json unreadable ({error})"
    for name, record in files.items():
        path = checkpoint / name
        if not path.is_file():
            return f"{name} missing"
        size = path.stat().st_size
        if size != record["size"]:
            return f"{name} has {size} bytes, the manifest says {record['size']} (truncated or changed)"
        if "sha256" in record and sha256_of(path) != record["sha256"]:
            return f"{name} does not match its sha256 in the manifest"
    return None


def latest_checkpoint(root: Path) -> Optional[Path]:
    """The newest complete checkpoint under ``root``; each newer one that fails verification is skipped with a
    warning naming it and the reason. A legacy checkpoint (no manifest) is the fallback of last resort."""
    legacy = None
    for step, path in reversed(list_checkpoints(root)):
        problem = verify_checkpoint(path)
        if problem is None:
            if legacy is not None:
                logger.warning("checkpoint %s skipped: no manifest.json (not sealed)", legacy)
            return path
        if not (path / MANIFEST_FILE).exists() and (path / STATE_FILE).is_file() and legacy is None:
            legacy = path
            continue
        logger.warning("checkpoint %s skipped: %s", path, problem)
    if legacy is not None:
        logger.warning("checkpoint %s has no manifest (written by an older pro-rl): resuming from it unverified",
                       legacy)
    return legacy


def remove_partial(root: Path) -> int:
    """Delete half-written (``.tmp-``) and half-pruned (``.trash-``) checkpoints a killed run left; how many."""
    if not root.is_dir():
        return 0
    partial = [child for child in root.iterdir() if child.name.startswith((TEMP_PREFIX, TRASH_PREFIX))]
    for child in partial:
        shutil.rmtree(child, ignore_errors=True)
    return len(partial)


def discard(checkpoint: Path) -> None:
    """Rename to ``.trash-<name>`` first, then delete: an interrupted delete leaves no ``step-`` directory behind."""
    trash = checkpoint.with_name(TRASH_PREFIX + checkpoint.name)
    shutil.rmtree(trash, ignore_errors=True)
    checkpoint.rename(trash)
    shutil.rmtree(trash, ignore_errors=True)


@contextmanager
def atomic_checkpoint(root: Path, step: int, state: dict, keep: int = 2) -> Iterator[Path]:
    """Yield a temp directory to fill; on success write ``state``, the RNG states and the manifest (last), and rename
    it to ``step-NNNNNN``. Older checkpoints beyond ``keep`` are then discarded (``keep`` 0: keep all).

    ``state`` is JSON (step, data position, normaliser, KL controller, ...).
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / checkpoint_name(step)
    temp = root / f"{TEMP_PREFIX}{checkpoint_name(step)}"
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir()
    yield temp
    (temp / RNG_FILE).write_text(json.dumps(rng_state()))
    (temp / STATE_FILE).write_text(json.dumps({"step": step, **state}, indent=2))
    write_manifest(temp, step)
    if final.exists():
        discard(final)
    temp.rename(final)
    for _, old in list_checkpoints(root)[:-keep] if keep > 0 else []:
        discard(old)


def read_state(checkpoint: Path) -> dict:
    return json.loads((checkpoint / STATE_FILE).read_text())


def rng_state() -> dict:
    """Python, numpy and torch CPU generator states as JSON-able values."""
    version, internal, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": [kind, keys.tolist(), int(position), int(has_gauss), float(cached)],
            "torch": torch.get_rng_state().tolist()}


def restore_rng(checkpoint: Path) -> None:
    """Restore the generators from ``rng.json`` (or a legacy ``rng.pt``, read by the safe loader); nothing if absent."""
    if (checkpoint / RNG_FILE).is_file():
        state = json.loads((checkpoint / RNG_FILE).read_text())
        version, internal, gauss = state["python"]
        random.setstate((version, tuple(internal), gauss))
        kind, keys, position, has_gauss, cached = state["numpy"]
        np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
        torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    elif (checkpoint / LEGACY_RNG_FILE).is_file():
        state = safe_torch_load(checkpoint / LEGACY_RNG_FILE, map_location="cpu")
        random.setstate(state["python"])
        np.random.set_state(state["numpy"])
        torch.set_rng_state(state["torch"])
