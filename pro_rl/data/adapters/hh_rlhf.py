"""Anthropic/hh-rlhf → canonical pairs.

Each raw row holds two whole conversations as single strings in the Human/Assistant format:

    {"chosen":   "\\n\\nHuman: Hi\\n\\nAssistant: Hello! How can I help?",
     "rejected": "\\n\\nHuman: Hi\\n\\nAssistant: Go away."}

The prompt is the text both share, up to and including their last shared "\\n\\nAssistant:" marker; chosen and
rejected are what follows it in each, with leading whitespace removed. The prompt stays a string in this format
(which is also the plain format of `pro_rl.data.formats.render_prompt`). When the two conversations part before
any assistant turn, the row cannot be split and is marked invalid (an error or a counted skip, by `on_bad_row`).
When they part inside a later turn, the response runs to the end of the conversation, further turns included.
"""

from __future__ import annotations

import os

import datasets

from pro_rl.data.adapters.columns import (
    INVALID_COLUMN,
    ROW_COLUMN,
    TEXT,
    UNPAIRED_COLUMN,
    pair_features,
    require_columns,
)

HUB_ID = "Anthropic/hh-rlhf"
ASSISTANT_MARKER = "\n\nAssistant:"


def split_conversations(chosen: str, rejected: str) -> tuple[str, str, str] | None:
    """(prompt, chosen response, rejected response), or None when no assistant marker is shared."""
    shared_length = len(os.path.commonprefix([chosen, rejected]))
    marker_start = chosen.rfind(ASSISTANT_MARKER, 0, shared_length)
    if marker_start < 0:
        return None
    prompt_end = marker_start + len(ASSISTANT_MARKER)
    return chosen[:prompt_end], chosen[prompt_end:].lstrip(), rejected[prompt_end:].lstrip()


def _convert_batch(batch: dict, indices: list[int]) -> dict:
    out = {"prompt": [], "chosen": [], "rejected": [], ROW_COLUMN: indices, INVALID_COLUMN: [], UNPAIRED_COLUMN: []}
    for chosen, rejected in zip(batch["chosen"], batch["rejected"]):
        parts = split_conversations(chosen or "", rejected or "")
        prompt, chosen_response, rejected_response = parts or ("", "", "")
        out["prompt"].append(prompt)
        out["chosen"].append(chosen_response)
        out["rejected"].append(rejected_response)
        out[INVALID_COLUMN].append(None if parts else 'no shared "Assistant:" turn')
        out[UNPAIRED_COLUMN].append(None)
    return out


def to_pairs(raw: datasets.Dataset, *, objective: str | None = None, source: str) -> datasets.Dataset:
    """Split each hh-rlhf conversation pair into prompt / chosen / rejected; `objective` is not used."""
    require_columns(raw, ["chosen", "rejected"], source)
    return raw.map(
        _convert_batch,
        batched=True,
        with_indices=True,
        remove_columns=raw.column_names,
        features=pair_features(TEXT, []),
        desc="hh-rlhf → pairs",
    )
