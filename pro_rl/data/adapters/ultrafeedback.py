"""openbmb/UltraFeedback (fine-grained ratings) → canonical pairs for one aspect.

A raw row is one instruction with several completions, each rated by GPT-4 on four aspects:

    {"instruction": "...", "completions": [{"model": "...", "response": "...",
        "annotations": {"helpfulness": {"Rating": "4", ...}, "honesty": {"Rating": "5", ...},
                        "instruction_following": {"Rating": "3", ...}, "truthfulness": {"Rating": "N/A", ...}},
        ...}, ...], ...}

For the aspect named by `objective`, ratings are read as numbers; "N/A" (or anything else that is not a number)
means the completion is not rated on that aspect and is left out of the pairing.

The pair, deterministic and without randomness: chosen = the highest-rated completion, rejected = the
lowest-rated one (maximum margin); among equal ratings the earlier completion in the row wins. A row with fewer than
two rated completions, or with all ratings equal, yields no pair: a normal skip, counted and logged by the loader,
not an error. `scores` = {aspect: the chosen completion's rating}. The prompt is the instruction string.
"""

from __future__ import annotations

import datasets

from pro_rl.data.adapters.columns import (
    INVALID_COLUMN,
    ROW_COLUMN,
    TEXT,
    UNPAIRED_COLUMN,
    pair_features,
    require_columns,
    require_objective,
)

HUB_ID = "openbmb/UltraFeedback"
ASPECTS = ("helpfulness", "honesty", "instruction_following", "truthfulness")


def parse_rating(completion: dict, aspect: str) -> float | None:
    """The completion's rating for `aspect` as a float, or None when it is missing or "N/A"."""
    annotation = ((completion or {}).get("annotations") or {}).get(aspect) or {}
    try:
        return float(annotation.get("Rating"))
    except (TypeError, ValueError):
        return None


def pick_pair(completions: list[dict], aspect: str) -> tuple[dict, dict, float] | str:
    """(chosen, rejected, chosen rating), or the reason no pair can be formed."""
    rated = [(rating, c) for c in completions or [] if (rating := parse_rating(c, aspect)) is not None]
    if len(rated) < 2:
        return f"fewer than two completions rated on {aspect}"
    best = max(rated, key=lambda item: item[0])  # max/min return the first of equal items
    worst = min(rated, key=lambda item: item[0])
    if best[0] == worst[0]:
        return f"all {aspect} ratings equal"
    return best[1], worst[1], best[0]


def _convert_batch(batch: dict, indices: list[int], aspect: str) -> dict:
    out = {"prompt": [], "chosen": [], "rejected": [], "scores": [],
           ROW_COLUMN: indices, INVALID_COLUMN: [], UNPAIRED_COLUMN: []}
    for instruction, completions in zip(batch["instruction"], batch["completions"]):
        pair = pick_pair(completions, aspect)
        paired = not isinstance(pair, str)
        out["prompt"].append(instruction)
        out["chosen"].append(pair[0].get("response") if paired else "")
        out["rejected"].append(pair[1].get("response") if paired else "")
        out["scores"].append({aspect: pair[2] if paired else None})
        out[INVALID_COLUMN].append(None)
        out[UNPAIRED_COLUMN].append(None if paired else pair)
    return out


def to_pairs(raw: datasets.Dataset, *, objective: str | None, source: str) -> datasets.Dataset:
    """Pair the best and worst completion of each instruction by the aspect `objective`."""
    aspect = require_objective("ultrafeedback", objective, ASPECTS)
    require_columns(raw, ["instruction", "completions"], source)
    return raw.map(
        _convert_batch,
        batched=True,
        with_indices=True,
        fn_kwargs={"aspect": aspect},
        remove_columns=raw.column_names,
        features=pair_features(TEXT, [aspect]),
        desc=f"UltraFeedback ({aspect}) → pairs",
    )
