"""nvidia/HelpSteer2 → canonical pairs for one attribute.

A raw row is one response to one prompt, rated 0–4 on five attributes:

    {"prompt": "...", "response": "...", "helpfulness": 3, "correctness": 4, "coherence": 4,
     "complexity": 2, "verbosity": 1}

Responses to the same prompt sit in consecutive rows (usually two). Rows are grouped by prompt text (anywhere in
the split, in order of first appearance). For the attribute named by `objective`, chosen = the best-rated response
of the group and rejected = the worst-rated one; among equal ratings the earlier row wins. A group with a single
rated response, or with all ratings equal, yields no pair: a normal counted skip. `scores` = {attribute: the best
rating}. The prompt string is kept as is (multi-turn prompts carry HelpSteer2's own "<extra_id_1>User" markers).
One output row per group; its row index for messages is the group's first row.
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

HUB_ID = "nvidia/HelpSteer2"
ATTRIBUTES = ("helpfulness", "correctness", "coherence", "complexity", "verbosity")


def group_rows_by_prompt(prompts: list[str]) -> list[list[int]]:
    """Row indices grouped by equal prompt, groups in order of first appearance."""
    groups: dict[str, list[int]] = {}
    for index, prompt in enumerate(prompts):
        groups.setdefault(prompt, []).append(index)
    return list(groups.values())


def pair_group(group: list[int], ratings: list) -> tuple[int, int] | str:
    """(best row, worst row) of a group by rating, or the reason no pair can be formed."""
    rated = [index for index in group if ratings[index] is not None]
    if len(rated) < 2:
        return "fewer than two rated responses to the prompt"
    best = max(rated, key=lambda index: ratings[index])  # max/min return the first of equal items
    worst = min(rated, key=lambda index: ratings[index])
    if ratings[best] == ratings[worst]:
        return "all responses to the prompt rated equal"
    return best, worst


def to_pairs(raw: datasets.Dataset, *, objective: str | None, source: str) -> datasets.Dataset:
    """Pair the best and worst response to each prompt by the attribute `objective`."""
    attribute = require_objective("helpsteer2", objective, ATTRIBUTES)
    require_columns(raw, ["prompt", "response", attribute], source)
    columns = raw.select_columns(["prompt", "response", attribute]).to_dict()
    prompts, responses, ratings = columns["prompt"], columns["response"], columns[attribute]
    rows = []
    for group in group_rows_by_prompt(prompts):
        pair = pair_group(group, ratings)
        paired = not isinstance(pair, str)
        rows.append({
            "prompt": prompts[group[0]],
            "chosen": responses[pair[0]] if paired else "",
            "rejected": responses[pair[1]] if paired else "",
            "scores": {attribute: float(ratings[pair[0]]) if paired else None},
            ROW_COLUMN: group[0],
            INVALID_COLUMN: None,
            UNPAIRED_COLUMN: None if paired else pair,
        })
    return datasets.Dataset.from_list(rows, features=pair_features(TEXT, [attribute]))
