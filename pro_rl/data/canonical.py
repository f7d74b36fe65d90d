"""Loading preference pairs and prompts in the canonical format, with the data failure rules applied.

Canonical format (DESIGN.md, "Contracts → Data"):

- pairs: `{"prompt", "chosen", "rejected"}`, optional `"scores": {"<objective>": float}` (of the chosen response);
- prompts: `{"prompt"}`, optional `"weights": {"<objective>": float}`.

Each text is a string or a list of chat messages `[{"role": ..., "content": ...}]`. In canonical form `prompt` is
the conversation up to the response and `chosen` / `rejected` are only the response (adapters of public datasets
split full conversations that way). A file must use one type per column throughout (Arrow columns are typed).

`load_pairs` / `load_prompts` read a source (see `sources.py`), convert it with an adapter (`adapters/`), then screen
every row in one place (`screening.py`):

- a missing column is a `DataError` naming the file and the column, raised at once;
- an empty prompt or response, a malformed text, a text longer than `max_chars` characters (message contents
  summed), or a row the adapter marked invalid: with `on_bad_row="error"` a `DataError` naming the file and the row
  index; with `on_bad_row="skip"` the row is dropped and counted;
- a chat message whose role is not system / user / assistant is a malformed text (a bad row as above);
- a row that yields no pair (e.g. tied ratings), or a pair whose chosen and rejected responses are the same (it
  carries no preference), is always dropped and counted.

Callers that load for a config pass its data section's limits with `data_limits(config.data)`, so that
`max_rows`, `max_chars` and `on_bad_row` apply wherever prompts or pairs load.

Skips are never silent: they are logged at WARNING on the "pro_rl.data" logger, and `return_report=True` also
returns a `LoadReport` with the counts per reason.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import datasets

from pro_rl.data.adapters import ADAPTERS, adapter_for_hub_id, canonical
from pro_rl.data.errors import DataError
from pro_rl.data.screening import log_skips, screen_rows
from pro_rl.data.sources import is_local, read_source  # is_local re-exported: training/wic_data.py imports it

logger = logging.getLogger("pro_rl.data")

ON_BAD_ROW_CHOICES = ("error", "skip")
PAIR_TEXT_COLUMNS = ("prompt", "chosen", "rejected")


@dataclass
class LoadReport:
    """What a load read and kept. For HelpSteer2 the candidates are prompt groups, so `rows_read` counts more rows
    than `rows_kept` plus the skips."""

    source: str
    rows_read: int  # rows read from the source (after max_rows)
    rows_kept: int  # rows of the returned dataset
    skipped: dict[str, int] = field(default_factory=dict)  # reason → number of rows dropped for it
    duplicates: int = 0  # repeated prompts removed by load_prompts from a pairs source

    @property
    def rows_skipped(self) -> int:
        return sum(self.skipped.values())


# ---------------------------------------------------------------- JSONL helpers


def write_jsonl(rows: Iterable[dict], path: str | os.PathLike) -> int:
    """Write one JSON object per line (UTF-8), atomically (temp file, then rename); returns the row count."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    count = 0
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return count


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    """Read a JSONL file into a list of dicts; blank lines are ignored; bad JSON or bytes that are not UTF-8 are a
    `DataError` with its row and line."""
    rows = []
    with open(path, "rb") as handle:
        for line_number, raw_line in enumerate(handle, start=1):
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(str(path), f"not UTF-8 text (byte 0x{raw_line[exc.start]:02x} at column "
                                           f"{exc.start + 1})", len(rows), line_number) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(str(path), f"invalid JSON on line {line_number}: {exc.msg}", len(rows),
                                line_number) from None
            if not isinstance(row, dict):
                raise DataError(str(path), f"line {line_number} is not a JSON object", len(rows), line_number)
            rows.append(row)
    return rows


def data_limits(data) -> dict:
    """The keyword arguments of `load_pairs` / `load_prompts` that a config's `data` section sets."""
    return dict(max_rows=data.max_rows or None, max_chars=data.max_chars or None, on_bad_row=data.on_bad_row)


# ---------------------------------------------------------------- loading


def resolve_adapter(source: str, adapter: str) -> str:
    """The adapter name for `adapter="auto"` (by hub id; "canonical" for local files), checked against ADAPTERS."""
    if adapter == "auto":
        return "canonical" if is_local(str(source)) else adapter_for_hub_id(str(source))
    if adapter not in ADAPTERS:
        raise ValueError(f"unknown adapter {adapter!r}; known: auto, {', '.join(ADAPTERS)}")
    return adapter


def _check_on_bad_row(on_bad_row: str) -> None:
    if on_bad_row not in ON_BAD_ROW_CHOICES:
        raise ValueError(f"on_bad_row must be one of {', '.join(ON_BAD_ROW_CHOICES)}, got {on_bad_row!r}")


def load_pairs(
    source: str,
    *,
    split: str = "train",
    adapter: str = "auto",
    objective: str | None = None,
    max_rows: int | None = None,
    max_chars: int | None = None,
    on_bad_row: str = "error",
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Preference pairs with columns prompt, chosen, rejected (and scores when the data has them).

    source: local .jsonl/.json/.parquet file, directory or glob, or a hub id. adapter: "auto" (by hub id, else
    "canonical") or a name in `ADAPTERS`, which also applies to a local file holding that dataset's raw schema.
    objective: the aspect / attribute to pair by (ultrafeedback, helpsteer2). max_rows: read at most this many
    source rows. max_chars: longest text allowed. on_bad_row: "error" or "skip" (see the module docstring).
    """
    _check_on_bad_row(on_bad_row)
    adapter_name = resolve_adapter(source, adapter)
    raw = read_source(source, split).head(max_rows)
    adapted = ADAPTERS[adapter_name](raw.dataset, objective=objective, source=raw.name)
    pairs, skipped = screen_rows(
        adapted, raw, text_columns=PAIR_TEXT_COLUMNS, max_chars=max_chars, on_bad_row=on_bad_row, use_unpaired=True
    )
    log_skips(raw.name, len(adapted), len(raw.dataset), skipped)
    report = LoadReport(str(source), len(raw.dataset), len(pairs), skipped)
    return (pairs, report) if return_report else pairs


def load_prompts(
    source: str,
    *,
    split: str = "train",
    adapter: str = "auto",
    objective: str | None = None,
    max_rows: int | None = None,
    max_chars: int | None = None,
    on_bad_row: str = "error",
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Prompts with column prompt (and weights when a prompts file has them).

    A prompts source has a `prompt` column. A pairs source (canonical with chosen/rejected, or any named adapter) is
    accepted too: its prompts are used, duplicates removed keeping the first, and prompts of rows that yield no pair
    (e.g. tied ratings) are kept. `objective` is needed only by adapters that pair by one (ultrafeedback,
    helpsteer2). Other arguments as in `load_pairs`; only the prompt is screened.
    """
    _check_on_bad_row(on_bad_row)
    adapter_name = resolve_adapter(source, adapter)
    raw = read_source(source, split).head(max_rows)
    columns = raw.dataset.column_names
    from_pairs = adapter_name != "canonical" or ("chosen" in columns and "rejected" in columns)
    if from_pairs:
        adapted = ADAPTERS[adapter_name](raw.dataset, objective=objective, source=raw.name)
    else:
        adapted = canonical.to_prompts(raw.dataset, source=raw.name)
    prompts, skipped = screen_rows(
        adapted, raw, text_columns=("prompt",), max_chars=max_chars, on_bad_row=on_bad_row, use_unpaired=False
    )
    log_skips(raw.name, len(adapted), len(raw.dataset), skipped)
    duplicates = 0
    if from_pairs:
        prompts, duplicates = unique_prompts(prompts.select_columns(["prompt"]))
    report = LoadReport(str(source), len(raw.dataset), len(prompts), skipped, duplicates)
    return (prompts, report) if return_report else prompts


def unique_prompts(prompts: datasets.Dataset) -> tuple[datasets.Dataset, int]:
    """The rows with the first occurrence of each prompt, in order, and the number of duplicates removed."""
    seen, first_rows = set(), []
    for index, prompt in enumerate(prompts["prompt"]):
        key = prompt if isinstance(prompt, str) else json.dumps(prompt, sort_keys=True)
        if key not in seen:
            seen.add(key)
            first_rows.append(index)
    duplicates = len(prompts) - len(first_rows)
    if duplicates:
        logger.info("removed %d duplicate prompts", duplicates)
        prompts = prompts.select(first_rows)
    return prompts, duplicates
