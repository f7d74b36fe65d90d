"""What a trained reward model remembers about how it reads its inputs: ``pro_rl_reward_model.json`` in its directory.

The reward-model trainer writes ``{"objective", "max_length", "response_only", "label_index", "prompt_format"}``
beside the weights. ``RewardScorer`` scores with the recorded ``max_length``, so a config that only names the model
directory scores at the length the model was trained at. The length used to score is, in order:

1. ``reward_models.<i>.score_max_length`` when it is > 0 (an explicit choice);
2. the ``max_length`` recorded in the model directory;
3. ``reward_models.<i>.training.max_length`` (models without a record: hub checkpoints, tiny untrained models).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

RECORD_FILE = "pro_rl_reward_model.json"


def write_record(directory: Path, spec, prompt_format: str = "auto") -> Path:
    """Record how ``spec`` (a ``RewardModelConfig``) was trained, in ``directory``; the file's path."""
    path = Path(directory) / RECORD_FILE
    path.write_text(json.dumps({
        "objective": spec.name, "max_length": spec.training.max_length, "response_only": spec.response_only,
        "label_index": spec.label_index, "prompt_format": prompt_format,
    }, indent=2) + "\n")
    return path


def read_record(source: str) -> Optional[dict]:
    """The record of the model at ``source`` (a directory), or None when it has none (hub ids, tiny specs)."""
    path = Path(source) / RECORD_FILE
    if not source or not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: cannot read the reward model's record: {error}") from None


def scoring_length(spec, source: str) -> int:
    """Token limit to score with (see the module doc): explicit, recorded, or ``training.max_length``."""
    if spec.score_max_length > 0:
        return spec.score_max_length
    record = read_record(source) or {}
    return int(record.get("max_length") or spec.training.max_length)
