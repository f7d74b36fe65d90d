"""Stage directories of PRO-WIC/RiC: one fine-tuning run per stage, and the records that let a resumed run skip it.

Each stage (``stages/offline``, ``stages/online-<i>``) fine-tunes with ``pro_rl.training.sft.train_sft`` on its own
``train.jsonl`` of conditioned rows, starting from the previous stage's policy. A finished stage leaves
``stage.json`` (its logged values and the digest of the run's settings) and, online, ``kept.jsonl`` (the rows it
added); ``run.resume: auto`` reuses them when the settings are the same. A stage killed midway has no ``stage.json``
and is trained again from the previous stage's policy; so is a stage recorded under other settings.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Optional

from pro_rl.config.schema import ProRLConfig
from pro_rl.data.canonical import write_jsonl
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.run_dir import settings_digest
from pro_rl.training.sft import train_sft

logger = logging.getLogger("pro_rl.training")

STAGE_RECORD = "stage.json"
KEPT_ROWS = "kept.jsonl"


def finished_stage(config: ProRLConfig, stage_dir: Path) -> Optional[Dict[str, Dict[str, float]]]:
    """The record of a stage an earlier run finished with the same settings (``settings_digest``; only when
    resuming), else None: a stage recorded under other settings (or before records held them) is trained again."""
    record_path = stage_dir / STAGE_RECORD
    if config.run.resume != "auto" or not record_path.is_file():
        return None
    record = json.loads(record_path.read_text())
    if record.get("digest") != settings_digest(config):
        logger.warning("%s: stage %s was recorded under other settings; trained again", config.wic.conditioning,
                       stage_dir.name)
        return None
    logger.info("%s: stage %s finished earlier, reused", config.wic.conditioning, stage_dir.name)
    return record


def record_stage(config: ProRLConfig, stage_dir: Path, values: Dict[str, float]) -> None:
    """Mark ``stage_dir`` finished, with the values it logged and the digest of the settings it ran with."""
    (stage_dir / STAGE_RECORD).write_text(json.dumps({"values": values, "digest": settings_digest(config)},
                                                     indent=2) + "\n")


def sft_stage(config: ProRLConfig, rows: List[dict], stage_dir: Path, init_policy: str,
              steps: int) -> tuple[Path, Dict[str, float]]:
    """Fine-tune ``init_policy`` on ``rows`` for ``steps`` steps in ``stage_dir``; returns (policy dir, eval)."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    (stage_dir / STAGE_RECORD).unlink(missing_ok=True)
    data_path = stage_dir / "train.jsonl"
    write_jsonl(rows, data_path)
    # the rows' prompts are rendered and conditioned already: 'plain' keeps them as they are
    stage_config = replace(config, data=replace(config.data, sft=str(data_path), prompt_format="plain"),
                           policy=replace(config.policy, model=init_policy, sft_steps=steps))
    metrics = MetricsLogger(stage_dir, tensorboard=False)
    try:
        result = train_sft(stage_config, stage_dir, metrics)
    finally:
        metrics.close()
    return stage_dir / "final" / "policy", result


def prefixed(result: Dict[str, float], stage: str) -> Dict[str, float]:
    """``eval/sft/loss`` → ``eval/<stage>/loss``."""
    return {key.replace("/sft/", f"/{stage}/"): value for key, value in result.items()}
