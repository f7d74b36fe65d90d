"""Reading a data source into one `datasets.Dataset`, and naming the file of any row of it.

A source is a local path — a `.jsonl` / `.json` / `.parquet` file, a directory (its files with those suffixes,
top level only, in name order) or a glob such as `data/**/*.parquet` — or else a Hugging Face hub dataset id
("owner/name"). Local files are read one by one with `datasets.load_dataset("json" | "parquet", ...)` and
concatenated, so that a row index can be traced back to its file (`RawSource.locate`). For local files `split` is
not used; for hub ids it names the split (renamed where the hub uses other names, see `adapters.HUB_SPLITS`).
"""

from __future__ import annotations

import bisect
import glob
from dataclasses import dataclass
from pathlib import Path

import datasets

from pro_rl.data.adapters import hub_split
from pro_rl.data.errors import DataError

LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet"}
GLOB_CHARACTERS = "*?["


@dataclass
class RawSource:
    """The rows of a source as read, with the file boundaries needed to name a row's file."""

    name: str  # the source as the user gave it, or "hub_id (split)"
    dataset: datasets.Dataset
    files: list[str]  # empty for a hub dataset
    file_starts: list[int]  # index in `dataset` of each file's first row

    def locate(self, row: int) -> tuple[str, int]:
        """(file or dataset name, row index inside it) of row `row` of `dataset`."""
        if not self.files:
            return self.name, row
        file_index = bisect.bisect_right(self.file_starts, row) - 1
        return self.files[file_index], row - self.file_starts[file_index]

    def head(self, max_rows: int | None) -> RawSource:
        """The first `max_rows` rows (all when None)."""
        if max_rows is not None and max_rows < 0:
            raise ValueError(f"max_rows must be >= 0, got {max_rows}")
        if max_rows is None or max_rows >= len(self.dataset):
            return self
        return RawSource(self.name, self.dataset.select(range(max_rows)), self.files, self.file_starts)


def is_local(source: str) -> bool:
    """Whether `source` names local files rather than a hub dataset id."""
    return (
        Path(source).exists()
        or Path(source).suffix in LOCAL_FORMATS
        or any(character in source for character in GLOB_CHARACTERS)
        or source.startswith(("/", "./", "../", "~"))
        or source.count("/") > 1
    )


def local_files(source: str) -> list[str]:
    """The data files a local source names, in a fixed order; `DataError` when there are none."""
    path = Path(source).expanduser()
    if path.is_dir():
        files = sorted(str(child) for child in path.iterdir() if child.suffix in LOCAL_FORMATS and child.is_file())
    elif any(character in source for character in GLOB_CHARACTERS):
        files = sorted(match for match in glob.glob(str(path), recursive=True) if Path(match).is_file())
    elif path.is_file():
        files = [str(path)]
    else:
        raise DataError(source, "file not found")
    if not files:
        raise DataError(source, f"no data files ({', '.join(LOCAL_FORMATS)}) found")
    unknown = [name for name in files if Path(name).suffix not in LOCAL_FORMATS]
    if unknown:
        raise DataError(unknown[0], f"unsupported file type; expected one of {', '.join(LOCAL_FORMATS)}")
    if len({LOCAL_FORMATS[Path(name).suffix] for name in files}) > 1:
        raise DataError(source, "mixes JSON and parquet files; use one format per source")
    return files


def read_local(source: str) -> RawSource:
    """Read every file of a local source and concatenate them."""
    files = local_files(source)
    parts = []
    for name in files:
        builder = LOCAL_FORMATS[Path(name).suffix]
        try:
            parts.append(datasets.load_dataset(builder, data_files=name, split="train"))
        except Exception as exc:  # the datasets library raises many types for unreadable files
            raise DataError(name, f"cannot be read as {builder}: {exc}") from exc
    file_starts = [0]
    for part in parts[:-1]:
        file_starts.append(file_starts[-1] + len(part))
    try:
        dataset = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    except ValueError as exc:
        raise DataError(source, f"files differ in columns or types: {exc}") from exc
    return RawSource(source, dataset, files, file_starts)


def read_hub(hub_id: str, split: str) -> RawSource:
    """Load one split of a hub dataset (network access; never used by the tests)."""
    hub_split_name = hub_split(hub_id, split)
    dataset = datasets.load_dataset(hub_id, split=hub_split_name)
    return RawSource(f"{hub_id} ({hub_split_name})", dataset, [], [])


def read_source(source: str, split: str = "train") -> RawSource:
    """Read a local source or a hub dataset split."""
    source = str(source)
    return read_local(source) if is_local(source) else read_hub(source, split)
