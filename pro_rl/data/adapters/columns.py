"""Column names and Arrow features shared by the adapters and the loader.

Besides the canonical columns (`prompt`, `chosen`, `rejected`, optional `scores`), an adapter may add three marker
columns that tell the loader (`pro_rl.data.canonical`) what to do with a row. The loader reads them, applies the
`on_bad_row` policy in one place, and removes them; they never reach the caller.

- `ROW_COLUMN` (int): the row's index in the source, for error messages. For adapters that merge several source
  rows into one pair (HelpSteer2), the index of the first of them. Absent means "the row's own position".
- `INVALID_COLUMN` (str or None): the row is bad data (e.g. an hh-rlhf conversation with no shared assistant turn).
  With `on_bad_row="error"` the loader raises a `DataError` naming the row; with `"skip"` it drops and counts it.
- `UNPAIRED_COLUMN` (str or None): the row is fine but yields no preference pair (e.g. all UltraFeedback ratings
  equal for the aspect). Always a counted, logged skip, never an error. Its prompt is still used by `load_prompts`.
"""

from __future__ import annotations

import datasets

from pro_rl.data.errors import missing_column_error

ROW_COLUMN = "_row"
INVALID_COLUMN = "_invalid"
UNPAIRED_COLUMN = "_unpaired"
MARKER_COLUMNS = (ROW_COLUMN, INVALID_COLUMN, UNPAIRED_COLUMN)

TEXT = datasets.Value("string")
MESSAGES = datasets.List({"role": datasets.Value("string"), "content": datasets.Value("string")})


def require_columns(raw: datasets.Dataset, columns: list[str], source: str) -> None:
    """Raise a `DataError` naming `source` and the first of `columns` that `raw` lacks."""
    for column in columns:
        if column not in raw.column_names:
            raise missing_column_error(source, column, raw.column_names)


def pair_features(text_feature, score_names: list[str]) -> datasets.Features:
    """Features of an adapter's output: canonical pair columns, `scores` for `score_names`, and the markers."""
    features = {"prompt": text_feature, "chosen": text_feature, "rejected": text_feature}
    if score_names:
        features["scores"] = {name: datasets.Value("float64") for name in score_names}
    features[ROW_COLUMN] = datasets.Value("int64")
    features[INVALID_COLUMN] = datasets.Value("string")
    features[UNPAIRED_COLUMN] = datasets.Value("string")
    return datasets.Features(features)


def require_objective(adapter: str, objective: str | None, allowed: tuple[str, ...]) -> str:
    """Check the objective an adapter pairs by; raise `ValueError` naming the adapter and the allowed values."""
    if objective not in allowed:
        raise ValueError(f"adapter {adapter!r} needs objective= one of {', '.join(allowed)}; got {objective!r}")
    return objective
