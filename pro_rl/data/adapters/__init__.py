"""Adapters from public preference datasets to the canonical pair format.

Each adapter is a function `(raw: datasets.Dataset, *, objective: str | None, source: str) -> datasets.Dataset`
that returns the canonical columns `prompt`, `chosen`, `rejected` (and `scores` where the dataset has them), in
canonical form: `prompt` is the conversation up to the response, `chosen` / `rejected` only the response. It raises
`DataError` for a missing column. It may add the marker columns of `columns.py` to say which rows are bad data or
yield no pair; `pro_rl.data.canonical.load_pairs` applies the `on_bad_row` policy to them and removes them.

`HUB_ADAPTERS` maps hub dataset ids to adapter names (used by `adapter="auto"`), and `HUB_SPLITS` renames split
names for hub ids whose splits are not called train/test.
"""

from __future__ import annotations

from typing import Callable

import datasets

from pro_rl.data.adapters import canonical, helpsteer2, hh_rlhf, ultrafeedback, ultrafeedback_binarized

Adapter = Callable[..., datasets.Dataset]

ADAPTERS: dict[str, Adapter] = {
    "canonical": canonical.to_pairs,
    "hh_rlhf": hh_rlhf.to_pairs,
    "ultrafeedback": ultrafeedback.to_pairs,
    "ultrafeedback_binarized": ultrafeedback_binarized.to_pairs,
    "helpsteer2": helpsteer2.to_pairs,
}

HUB_ADAPTERS: dict[str, str] = {
    hh_rlhf.HUB_ID: "hh_rlhf",
    ultrafeedback.HUB_ID: "ultrafeedback",
    ultrafeedback_binarized.HUB_ID: "ultrafeedback_binarized",
    helpsteer2.HUB_ID: "helpsteer2",
}

HUB_SPLITS: dict[str, dict[str, str]] = {
    ultrafeedback_binarized.HUB_ID: ultrafeedback_binarized.HUB_SPLITS,
}


def adapter_for_hub_id(hub_id: str) -> str:
    """The adapter name for a hub dataset id (case-insensitive); "canonical" for ids not listed."""
    by_lower_id = {known.lower(): name for known, name in HUB_ADAPTERS.items()}
    return by_lower_id.get(hub_id.lower(), "canonical")


def hub_split(hub_id: str, split: str) -> str:
    """The split name to ask the hub for, e.g. "train" → "train_prefs" for ultrafeedback_binarized."""
    renames = {known.lower(): table for known, table in HUB_SPLITS.items()}.get(hub_id.lower(), {})
    return renames.get(split, split)
