"""Row screening of loaded data: one place that decides, row by row, whether a prompt or pair is kept.

`screen_rows` walks an adapter's output (the canonical columns and the marker columns of `adapters/columns.py`) and
applies the failure rules of `canonical.py`'s module doc: a bad row (an adapter's invalid mark, an empty or malformed
text, a chat role that is not system / user / assistant, a text over `max_chars`) raises a `DataError` naming the
file and row under `on_bad_row="error"` and is dropped and counted under `"skip"`; a row that yields no pair, or a
pair whose chosen and rejected responses are the same, is always dropped and counted. `log_skips` writes the counts
as one WARNING line on the "pro_rl.data" logger.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import NamedTuple

import datasets

from pro_rl.data.adapters.columns import INVALID_COLUMN, MARKER_COLUMNS, ROW_COLUMN, UNPAIRED_COLUMN
from pro_rl.data.errors import DataError
from pro_rl.data.formats import KNOWN_ROLES
from pro_rl.data.sources import RawSource

logger = logging.getLogger("pro_rl.data")

SCREEN_BATCH_SIZE = 1024


class RowProblem(NamedTuple):
    """Why a row is not kept, as `row_problem` finds it."""

    kind: str  # short name the skips are counted by, e.g. "empty prompt"
    message: str  # the DataError text
    is_bad_data: bool  # False for rows that are fine but yield no pair: skipped even with on_bad_row="error"


def text_content(value) -> str | None:
    """The text of a canonical value (a string, or the joined contents of chat messages); None if malformed."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(
        isinstance(message, dict) and isinstance(message.get("role"), str) and isinstance(message.get("content"), str)
        for message in value
    ):
        return "".join(message["content"] for message in value)
    return None


def unknown_role(value) -> str | None:
    """The first role of a message list that is not system / user / assistant (None when all are known)."""
    if not isinstance(value, list):
        return None
    return next((message["role"] for message in value if message["role"] not in KNOWN_ROLES), None)


def row_problem(
    row: dict, text_columns: tuple[str, ...], max_chars: int | None, use_unpaired: bool
) -> RowProblem | None:
    """The first problem of a row, in the order: adapter's invalid mark, no pair, then each text column."""
    if row.get(INVALID_COLUMN):
        return RowProblem(row[INVALID_COLUMN], row[INVALID_COLUMN], True)
    if use_unpaired and row.get(UNPAIRED_COLUMN):
        return RowProblem(row[UNPAIRED_COLUMN], row[UNPAIRED_COLUMN], False)
    for column in text_columns:
        value = row[column]
        text = text_content(value)
        if value is not None and text is None:
            message = f"{column} is neither text nor a list of role/content messages"
            return RowProblem(f"malformed {column}", message, True)
        if text is None or not text.strip():
            return RowProblem(f"empty {column}", f"empty {column}", True)
        role = unknown_role(value)
        if role is not None:
            message = f"{column} has a message with role {role!r}; known roles: {', '.join(KNOWN_ROLES)}"
            return RowProblem(f"unknown role in {column}", message, True)
        if max_chars is not None and len(text) > max_chars:
            message = f"{column} has {len(text)} characters, over max_chars={max_chars}"
            return RowProblem("over max_chars", message, True)
    if "chosen" in text_columns and "rejected" in text_columns and row["chosen"] == row["rejected"]:
        return RowProblem("chosen equals rejected", "chosen and rejected are the same response", False)
    return None


def screen_rows(
    dataset: datasets.Dataset,
    raw: RawSource,
    *,
    text_columns: tuple[str, ...],
    max_chars: int | None,
    on_bad_row: str,
    use_unpaired: bool,
) -> tuple[datasets.Dataset, dict[str, int]]:
    """Drop (and count) or raise for each problem row; return the kept rows without marker columns and the counts."""
    markers = [column for column in MARKER_COLUMNS if column in dataset.column_names]
    kept, skipped = [], Counter()
    position = 0
    for batch in dataset.select_columns(list(text_columns) + markers).iter(batch_size=SCREEN_BATCH_SIZE):
        for offset in range(len(batch[text_columns[0]])):
            row = {column: values[offset] for column, values in batch.items()}
            problem = row_problem(row, text_columns, max_chars, use_unpaired)
            if problem is None:
                kept.append(position)
            elif problem.is_bad_data and on_bad_row == "error":
                where, row_in_file = raw.locate(row.get(ROW_COLUMN, position))
                raise DataError(where, problem.message, row_in_file, raw.line(where, row_in_file))
            else:
                skipped[problem.kind] += 1
            position += 1
    if len(kept) < len(dataset):
        dataset = dataset.select(kept)
    return dataset.remove_columns(markers), dict(skipped)


def log_skips(source: str, candidates: int, rows_read: int, skipped: dict[str, int]) -> None:
    """One WARNING line with the skip counts, e.g. "skipped 3 of 120 rows of F: 2 empty prompt, 1 over max_chars"."""
    if not skipped:
        return
    reasons = ", ".join(f"{count} {kind}" for kind, count in sorted(skipped.items(), key=lambda item: -item[1]))
    unit = "rows" if candidates == rows_read else f"candidate rows (from {rows_read} source rows)"
    logger.warning("skipped %d of %d %s of %s: %s", sum(skipped.values()), candidates, unit, source, reasons)
