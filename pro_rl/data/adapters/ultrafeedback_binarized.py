"""HuggingFaceH4/ultrafeedback_binarized → canonical pairs, kept as chat messages.

A raw row holds both conversations as message lists, prompt included:

    {"prompt": "...", "prompt_id": "...",
     "chosen":   [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}],
     "rejected": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}],
     "messages": [...], "score_chosen": 8.0, "score_rejected": 5.0}

The prompt is the messages both conversations share, cut back so it does not end on an assistant message; chosen and
rejected are the messages after it (the assistant turn(s)). A row whose conversations share no leading message is
marked invalid. `scores` = {"overall": score_chosen} when the column exists (the UltraFeedback overall score of the
chosen response). On the hub the splits are named train_prefs / test_prefs; the loader maps "train" and "test" to
them for the hub id (`HUB_SPLITS`).
"""

from __future__ import annotations

import datasets

from pro_rl.data.adapters.columns import (
    INVALID_COLUMN,
    MESSAGES,
    ROW_COLUMN,
    UNPAIRED_COLUMN,
    pair_features,
    require_columns,
)

HUB_ID = "HuggingFaceH4/ultrafeedback_binarized"
HUB_SPLITS = {"train": "train_prefs", "test": "test_prefs"}
SCORE_NAME = "overall"


def shared_prompt_length(chosen: list[dict], rejected: list[dict]) -> int:
    """Number of leading messages that form the prompt: shared by both, not ending on an assistant message."""
    length = 0
    while length < min(len(chosen), len(rejected)) and chosen[length] == rejected[length]:
        length += 1
    while length > 0 and chosen[length - 1].get("role") == "assistant":
        length -= 1
    return length


def _convert_batch(batch: dict, indices: list[int], with_scores: bool) -> dict:
    out = {"prompt": [], "chosen": [], "rejected": [], ROW_COLUMN: indices, INVALID_COLUMN: [], UNPAIRED_COLUMN: []}
    for chosen, rejected in zip(batch["chosen"], batch["rejected"]):
        chosen, rejected = chosen or [], rejected or []
        prompt_length = shared_prompt_length(chosen, rejected)
        out["prompt"].append(chosen[:prompt_length])
        out["chosen"].append(chosen[prompt_length:])
        out["rejected"].append(rejected[prompt_length:])
        out[INVALID_COLUMN].append(None if prompt_length else "chosen and rejected share no prompt message")
        out[UNPAIRED_COLUMN].append(None)
    if with_scores:
        out["scores"] = [{SCORE_NAME: score} for score in batch["score_chosen"]]
    return out


def to_pairs(raw: datasets.Dataset, *, objective: str | None = None, source: str) -> datasets.Dataset:
    """Split the chosen/rejected conversations into prompt messages and response messages; `objective` unused."""
    require_columns(raw, ["chosen", "rejected"], source)
    with_scores = "score_chosen" in raw.column_names
    return raw.map(
        _convert_batch,
        batched=True,
        with_indices=True,
        fn_kwargs={"with_scores": with_scores},
        remove_columns=raw.column_names,
        features=pair_features(MESSAGES, [SCORE_NAME] if with_scores else []),
        desc="ultrafeedback_binarized → pairs",
    )
