"""SGA's preference pairs on multi-attribute rating datasets (HelpSteer2, UltraFeedback): one pair per prompt over
all K objectives at once.

SGA (appendix B.2) takes as chosen the response with the highest *average* rating over the fine-grained
attributes and keeps that response's K ratings as its score vector s. So, for the objectives [a_1, ..., a_K]:

- a response counts only when it is rated on every a_k; its rank is the mean of its K ratings;
- chosen = the highest mean, rejected = the lowest (the earlier response among equal means); a prompt with fewer
  than two such responses, or with all means equal, yields no pair (a counted skip, as in the one-attribute
  adapters);
- ``scores`` = {a_k: the chosen response's rating}, on the dataset's own scale (``pro_rl.data.sga_targets`` maps it
  to [0, 1]).

The one-attribute adapters (``pro_rl.data.adapters``) pair by a single attribute instead; these readers reuse their
grouping and rating parsers and go through the same row screening (``on_bad_row``, ``max_chars``).
"""

from __future__ import annotations

from typing import Callable, Dict, List, Optional, Sequence

import datasets

from pro_rl.data.adapters import helpsteer2, ultrafeedback
from pro_rl.data.adapters.columns import INVALID_COLUMN, ROW_COLUMN, TEXT, UNPAIRED_COLUMN, pair_features, require_columns
from pro_rl.data.canonical import PAIR_TEXT_COLUMNS
from pro_rl.data.screening import log_skips, screen_rows
from pro_rl.data.sources import read_source


def _mean(values: Sequence[Optional[float]]) -> Optional[float]:
    return None if any(value is None for value in values) else sum(values) / len(values)


def _pair_row(prompt, chosen, rejected, scores: Dict[str, Optional[float]], row: int, unpaired: Optional[str]) -> dict:
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected, "scores": scores, ROW_COLUMN: row,
            INVALID_COLUMN: None, UNPAIRED_COLUMN: unpaired}


def helpsteer2_mean_pairs(raw: datasets.Dataset, objectives: Sequence[str], source: str) -> datasets.Dataset:
    """HelpSteer2 rows (one response each, grouped by prompt) → one pair per prompt by the mean of ``objectives``."""
    objectives = list(objectives)
    require_columns(raw, ["prompt", "response", *objectives], source)
    columns = raw.select_columns(["prompt", "response", *objectives]).to_dict()
    means = [_mean([columns[name][index] for name in objectives]) for index in range(len(raw))]
    rows = []
    for group in helpsteer2.group_rows_by_prompt(columns["prompt"]):
        pair = helpsteer2.pair_group(group, means)
        if isinstance(pair, str):
            rows.append(_pair_row(columns["prompt"][group[0]], "", "", dict.fromkeys(objectives), group[0], pair))
            continue
        best, worst = pair
        scores = {name: float(columns[name][best]) for name in objectives}
        rows.append(_pair_row(columns["prompt"][group[0]], columns["response"][best], columns["response"][worst],
                              scores, group[0], None))
    return datasets.Dataset.from_list(rows, features=pair_features(TEXT, objectives))


def ultrafeedback_mean_pairs(raw: datasets.Dataset, objectives: Sequence[str], source: str) -> datasets.Dataset:
    """UltraFeedback rows (an instruction with rated completions) → one pair per row by the mean of ``objectives``."""
    objectives = list(objectives)
    unknown = [name for name in objectives if name not in ultrafeedback.ASPECTS]
    if unknown:
        raise ValueError(f"UltraFeedback has no aspects {unknown}; its aspects are {', '.join(ultrafeedback.ASPECTS)}")
    require_columns(raw, ["instruction", "completions"], source)
    rows = []
    for index, (instruction, completions) in enumerate(zip(raw["instruction"], raw["completions"])):
        ratings = [[ultrafeedback.parse_rating(c, name) for name in objectives] for c in completions or []]
        rated = [(_mean(values), values, c) for values, c in zip(ratings, completions or []) if _mean(values) is not None]
        best = max(rated, key=lambda item: item[0], default=None)  # max/min return the first of equal items
        worst = min(rated, key=lambda item: item[0], default=None)
        if len(rated) < 2 or best[0] == worst[0]:
            reason = "fewer than two completions rated on every objective" if len(rated) < 2 else "all mean ratings equal"
            rows.append(_pair_row(instruction, "", "", dict.fromkeys(objectives), index, reason))
            continue
        scores = dict(zip(objectives, best[1]))
        rows.append(_pair_row(instruction, best[2].get("response"), worst[2].get("response"), scores, index, None))
    return datasets.Dataset.from_list(rows, features=pair_features(TEXT, objectives))


MEAN_RATING_READERS: Dict[str, Callable[..., datasets.Dataset]] = {
    "helpsteer2": helpsteer2_mean_pairs, "ultrafeedback": ultrafeedback_mean_pairs}


def load_mean_rating_pairs(source: str, adapter: str, objectives: List[str], *, max_rows: Optional[int] = None,
                           max_chars: Optional[int] = None, on_bad_row: str = "error") -> datasets.Dataset:
    """The pairs of ``source`` (read as ``adapter``'s raw schema) by mean rating over ``objectives``, screened like
    ``load_pairs``' rows; columns prompt, chosen, rejected, scores."""
    raw = read_source(source, "train").head(max_rows)
    adapted = MEAN_RATING_READERS[adapter](raw.dataset, objectives, raw.name)
    pairs, skipped = screen_rows(adapted, raw, text_columns=PAIR_TEXT_COLUMNS, max_chars=max_chars,
                                 on_bad_row=on_bad_row, use_unpaired=True)
    log_skips(raw.name, len(adapted), len(raw.dataset), skipped)
    return pairs
