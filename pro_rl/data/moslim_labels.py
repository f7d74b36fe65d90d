"""MOSLIM classifier labels: intensity classes from raw preference scores (appendix B's DataType 1–4), and the label
rows the multi-head classifier trains on.

A label row is ``{"prompt", "response", "labels": {objective: class 1..n_k or null}}`` (null / absent: the row has
no label for that head, which is masked out of the loss).

Raw scores come on one of two scales: UltraFeedback's aspects (helpfulness, honesty, ...) are rated 1–5 and
UltraSafety's harmlessness 0–1 (MOSLIM appendix B). An objective's scale is ``[0, 1]`` when its name is one of
``BINARY_OBJECTIVES``, else ``[1, 5]``; callers may pass other scales. Every DataType makes a 0–1 objective a
2-class head (class 2 iff score ≥ 0.5). For 1–5 objectives:

    DataType  classes  mapping of a 1–5 score s                      our reading of Table 5
    1         2        1 if s < 4, 2 if s ≥ 4                         preference only: does the response serve it
    2         2        equal-width halves: s < 3 → 1, s ≥ 3 → 2       low / high intensity
    3         3        equal-width thirds: 1–2 → 1, 3 → 2, 4–5 → 3     three intensities
    4         5        equal-width fifths: the integer score itself   full granularity

(with helpfulness, honesty and harmlessness: 2·2·2 = 8, 3·3·2 = 18 and 5·5·2 = 50 class combinations for DataType
2–4, as in Table 5.) The extracted Table 5 is garbled for DataType 1 (it lists one class for helpfulness and
honesty, which a softmax head cannot learn from); we read it as the paper's text describes it, "preference
classification without intensity", i.e. a binary head whose class 2 means the response clearly serves the
objective (the top two scores). Equal-width bins generalise to any scale [low, high]: class =
min(n, ⌊(s − low)/(high − low)·n⌋ + 1) (``binned_class``).

Rows come from (a) label files, checked row by row (``check_label_row``: a clear ``DataError`` naming file and row
for an unknown objective, a class out of 1..n_k or not an integer, or a row without any label); (b) canonical pairs
with a ``scores`` column (the chosen response's scores, through the existing adapters, ``label_rows_from_pairs``);
(c) the toy world's graded intensities (``pro_rl.data.toy_world_intensities.moslim_rows``).
"""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from pro_rl.data.errors import DataError
from pro_rl.data.formats import render_prompt, render_response

BINARY_OBJECTIVES = ("harmless", "harmlessness", "safety")
FIVE_POINT = (1.0, 5.0)
ZERO_ONE = (0.0, 1.0)
DATA_TYPE_LEVELS = {1: 2, 2: 2, 3: 3, 4: 5}  # classes of a 1–5 objective per DataType
DATA_TYPE1_THRESHOLD = 0.75  # DataType 1: class 2 from 3/4 of the way up the scale (a 1–5 score of 4)

Scale = Tuple[float, float]


def score_scale(objective: str, scales: Optional[Mapping[str, Sequence[float]]] = None) -> Scale:
    """(low, high) of an objective's raw score: ``scales[objective]`` if given, else 0–1 for BINARY_OBJECTIVES,
    else 1–5."""
    if scales and objective in scales:
        low, high = (float(value) for value in scales[objective])
        if not high > low:
            raise ValueError(f"score scale of '{objective}' must have high > low, got [{low}, {high}]")
        return low, high
    return ZERO_ONE if objective in BINARY_OBJECTIVES else FIVE_POINT


def _is_binary(scale: Scale) -> bool:
    return scale == ZERO_ONE


def binned_class(score: float, scale: Scale, levels: int) -> int:
    """Equal-width bins of [low, high]: class min(n, ⌊(s − low)/(high − low)·n⌋ + 1); a score outside the scale is
    a ``ValueError``."""
    low, high = scale
    if not (math.isfinite(score) and low <= score <= high):
        raise ValueError(f"score {score} is outside its scale [{low:g}, {high:g}]")
    return min(levels, int(math.floor((score - low) / (high - low) * levels)) + 1)


def data_type1_class(score: float, scale: Scale = FIVE_POINT) -> int:
    """DataType 1: preference only. 1–5 scores: 2 iff s ≥ 4 (3/4 of the scale); 0–1 scores: 2 iff s ≥ 0.5."""
    if _is_binary(scale):
        return binned_class(score, scale, 2)
    binned_class(score, scale, 2)  # range check
    low, high = scale
    return 2 if score >= low + DATA_TYPE1_THRESHOLD * (high - low) else 1


def data_type2_class(score: float, scale: Scale = FIVE_POINT) -> int:
    """DataType 2: two equal-width intensity classes (1–5: s ≥ 3 → 2; 0–1: s ≥ 0.5 → 2)."""
    return binned_class(score, scale, 2)


def data_type3_class(score: float, scale: Scale = FIVE_POINT) -> int:
    """DataType 3: three equal-width classes for 1–5 scores (1–2 → 1, 3 → 2, 4–5 → 3); two for 0–1 scores."""
    return binned_class(score, scale, 2 if _is_binary(scale) else 3)


def data_type4_class(score: float, scale: Scale = FIVE_POINT) -> int:
    """DataType 4: five equal-width classes for 1–5 scores (an integer score is its own class); two for 0–1."""
    return binned_class(score, scale, 2 if _is_binary(scale) else 5)


DATA_TYPE_CLASS = {1: data_type1_class, 2: data_type2_class, 3: data_type3_class, 4: data_type4_class}


def data_type_levels(data_type: int, objectives: Iterable[str],
                     scales: Optional[Mapping[str, Sequence[float]]] = None) -> Dict[str, int]:
    """n_k of each objective under a DataType: 2 for 0–1 objectives, else ``DATA_TYPE_LEVELS[data_type]``."""
    if data_type not in DATA_TYPE_LEVELS:
        raise ValueError(f"data_type must be one of {sorted(DATA_TYPE_LEVELS)}, got {data_type}")
    return {objective: 2 if _is_binary(score_scale(objective, scales)) else DATA_TYPE_LEVELS[data_type]
            for objective in objectives}


def score_to_class(objective: str, score: float, data_type: int,
                   scales: Optional[Mapping[str, Sequence[float]]] = None) -> int:
    """The intensity class of one raw score under a DataType."""
    return DATA_TYPE_CLASS[data_type](float(score), score_scale(objective, scales))


def label_rows_from_pairs(pairs: Iterable[Mapping], levels: Mapping[str, int], data_type: int, source: str,
                          scales: Optional[Mapping[str, Sequence[float]]] = None,
                          prompt_format: str = "auto") -> List[dict]:
    """Label rows from canonical pairs with ``scores`` (of the chosen response): response = chosen, each objective
    of ``levels`` labelled from its score (absent: null). A pair without any score of these objectives, or a score
    off its scale, is a ``DataError`` naming ``source`` and the row."""
    expected = data_type_levels(data_type, levels, scales)
    if dict(expected) != {objective: int(n) for objective, n in levels.items()}:
        raise ValueError(f"levels {dict(levels)} do not match DataType {data_type} ({expected})")
    rows = []
    for index, pair in enumerate(pairs):
        scores = pair.get("scores") or {}
        labels = {}
        for objective in levels:
            score = scores.get(objective)
            try:
                labels[objective] = None if score is None else score_to_class(objective, score, data_type, scales)
            except (TypeError, ValueError) as error:
                raise DataError(source, f"score of '{objective}': {error}", index) from None
        if all(label is None for label in labels.values()):
            raise DataError(source, f"no score for any of the objectives {list(levels)}", index)
        rows.append({"prompt": render_prompt(pair["prompt"], None, prompt_format),
                     "response": render_response(pair["chosen"]),
                     "labels": labels})
    return rows


def check_label_row(row: Mapping, levels: Mapping[str, int], source: str, index: int,
                    prompt_format: str = "auto") -> dict:
    """One label row checked and normalised to {prompt: str, response: str, labels: {objective: int or None}} in
    ``levels`` order; a ``DataError`` naming ``source`` and ``index`` otherwise."""
    def bad(problem: str) -> DataError:
        return DataError(source, problem, index)

    for column in ("prompt", "response", "labels"):
        if column not in row or row[column] is None:
            raise bad(f"missing '{column}'")
    prompt, response = render_prompt(row["prompt"], None, prompt_format), render_response(row["response"])
    if not prompt.strip() or not response.strip():
        raise bad("empty prompt or response")
    if not isinstance(row["labels"], Mapping):
        raise bad(f"'labels' must be an object {{objective: class}}, got {type(row['labels']).__name__}")
    labels = {objective: None for objective in levels}
    for objective, label in row["labels"].items():
        if objective not in levels:
            if label is None:
                continue  # a column that another row filled (Arrow gives every row every key)
            raise bad(f"unknown objective '{objective}' in labels (objectives: {list(levels)})")
        if label is None:
            continue
        if isinstance(label, bool) or not isinstance(label, (int, float)) or float(label) != int(label):
            raise bad(f"label of '{objective}' must be an integer class, got {label!r}")
        if not 1 <= int(label) <= levels[objective]:
            raise bad(f"label {int(label)} of '{objective}' is out of 1..{levels[objective]}")
        labels[objective] = int(label)
    if all(label is None for label in labels.values()):
        raise bad("no label for any objective")
    return {"prompt": prompt, "response": response, "labels": labels}


def load_label_rows(source: str, levels: Mapping[str, int], data_type: int, adapter: str = "auto",
                    scales: Optional[Mapping[str, Sequence[float]]] = None, max_rows: Optional[int] = None,
                    prompt_format: str = "auto") -> List[dict]:
    """Label rows from a source: a file with a ``labels`` column is checked row by row (``check_label_row``);
    anything else is read as preference pairs with ``scores`` through ``load_pairs`` and mapped by ``data_type``
    (once per objective for adapters that pair by one aspect, e.g. ultrafeedback). Errors name file and row;
    prompts render in ``prompt_format`` (``pro_rl.data.formats``)."""
    from pro_rl.data.canonical import load_pairs, resolve_adapter
    from pro_rl.data.sources import read_source

    adapter_name = resolve_adapter(source, adapter)
    if adapter_name == "canonical":
        raw = read_source(source).head(max_rows)
        if "labels" in raw.dataset.column_names:
            return [check_label_row(row, levels, *raw.locate(index), prompt_format)
                    for index, row in enumerate(raw.dataset)]
        return label_rows_from_pairs(load_pairs(source, max_rows=max_rows), levels, data_type, source, scales,
                                     prompt_format)
    rows = []
    for objective in levels:
        pairs = load_pairs(source, adapter=adapter_name, objective=objective, max_rows=max_rows)
        rows += label_rows_from_pairs(pairs, levels, data_type, f"{source} ({objective})", scales, prompt_format)
    return rows
