"""Data already in canonical columns (local JSONL / JSON / parquet, or a hub dataset with the same columns).

Pairs: `prompt`, `chosen`, `rejected` (strings or chat-message lists), optional `scores`. Prompts: `prompt`,
optional `weights`. Other columns are dropped, so every loader returns exactly the documented columns.
"""

from __future__ import annotations

import datasets

from pro_rl.data.adapters.columns import require_columns

PAIR_COLUMNS = ("prompt", "chosen", "rejected")


def to_pairs(raw: datasets.Dataset, *, objective: str | None = None, source: str) -> datasets.Dataset:
    """Keep the canonical pair columns (and `scores` when present); `objective` is not used."""
    require_columns(raw, list(PAIR_COLUMNS), source)
    optional = ["scores"] if "scores" in raw.column_names else []
    return raw.select_columns(list(PAIR_COLUMNS) + optional)


def to_prompts(raw: datasets.Dataset, *, source: str) -> datasets.Dataset:
    """Keep the `prompt` column (and `weights` when present)."""
    require_columns(raw, ["prompt"], source)
    optional = ["weights"] if "weights" in raw.column_names else []
    return raw.select_columns(["prompt"] + optional)
