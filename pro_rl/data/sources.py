"""Reading a data source into one `datasets.Dataset`, and naming the file of any row of it.

A source is a local path — a `.jsonl` / `.json` / `.parquet` file, a directory (its files with those suffixes,
top level only, in name order) or a glob such as `data/**/*.parquet` — or else a Hugging Face hub dataset id
("owner/name"). Local files are read one by one with `datasets.load_dataset("json" | "parquet", ...)` and
concatenated, so that a row index can be traced back to its file (`RawSource.locate`). For local files `split` is
not used; for hub ids it names the split (renamed where the hub uses other names, see `adapters.HUB_SPLITS`).

JSON files are checked before `datasets` reads them, so that a bad file is a `DataError` naming its line: bytes
that are not UTF-8, a file with no rows, and (when `datasets` refuses the file) the first line that is not a JSON
object. Blank lines are remembered so that a row index maps back to its line (`RawSource.line`).
"""

from __future__ import annotations

import bisect
import glob
import json
from dataclasses import dataclass, field
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
    blank_lines: list[list[int]] = field(default_factory=list)  # per JSON file: its blank lines (1-based), sorted

    def locate(self, row: int) -> tuple[str, int]:
        """(file or dataset name, row index inside it) of row `row` of `dataset`."""
        if not self.files:
            return self.name, row
        file_index = bisect.bisect_right(self.file_starts, row) - 1
        return self.files[file_index], row - self.file_starts[file_index]

    def line(self, file: str, row_in_file: int) -> int | None:
        """The 1-based line of a row of a JSON-lines file (None for parquet, JSON arrays and hub data)."""
        if file not in self.files or Path(file).suffix != ".jsonl" or len(self.blank_lines) != len(self.files):
            return None
        line = row_in_file + 1
        for blank in self.blank_lines[self.files.index(file)]:
            if blank > line:
                break
            line += 1
        return line

    def head(self, max_rows: int | None) -> RawSource:
        """The first `max_rows` rows (all when None)."""
        if max_rows is not None and max_rows < 0:
            raise ValueError(f"max_rows must be >= 0, got {max_rows}")
        if max_rows is None or max_rows >= len(self.dataset):
            return self
        return RawSource(self.name, self.dataset.select(range(max_rows)), self.files, self.file_starts,
                         self.blank_lines)


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


def scan_json_text(name: str) -> list[int]:
    """The blank lines of a JSON / JSONL file; `DataError` for non-UTF-8 bytes or a file with no rows."""
    blank, has_rows = [], False
    with open(name, "rb") as handle:
        for line_number, raw_line in enumerate(handle, start=1):
            try:
                text = raw_line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(name, f"not UTF-8 text (byte 0x{raw_line[exc.start]:02x} at column {exc.start + 1})",
                                line=line_number) from None
            if text.strip():
                has_rows = True
            else:
                blank.append(line_number)
    if not has_rows:
        raise DataError(name, "the file is empty: no rows")
    return blank


def json_problem(name: str) -> DataError | None:
    """The first line of a JSON file that is not a JSON object (JSONL), or where a JSON document breaks."""
    text = Path(name).read_text(encoding="utf-8")
    if Path(name).suffix == ".json":
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            return DataError(name, f"invalid JSON: {exc.msg}", line=exc.lineno)
        return None
    row = 0
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            return DataError(name, f"invalid JSON: {exc.msg} at column {exc.colno}", row=row, line=line_number)
        if not isinstance(value, dict):
            return DataError(name, f"not a JSON object but {type(value).__name__}", row=row, line=line_number)
        row += 1
    return None


def _reason(exc: BaseException) -> str:
    """One line saying why `datasets` refused a file: the deepest cause it names."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return " ".join(str(exc).split()) or type(exc).__name__


def _load_quietly(builder: str, name: str) -> datasets.Dataset:
    """`datasets.load_dataset` of one file without its progress bars (stderr keeps one line per error)."""
    was_enabled = datasets.utils.logging.is_progress_bar_enabled()
    datasets.utils.logging.disable_progress_bar()
    try:
        return datasets.load_dataset(builder, data_files=name, split="train")
    finally:
        if was_enabled:
            datasets.utils.logging.enable_progress_bar()


def read_local(source: str) -> RawSource:
    """Read every file of a local source and concatenate them."""
    files = local_files(source)
    parts, blank_lines = [], []
    for name in files:
        builder = LOCAL_FORMATS[Path(name).suffix]
        if builder == "json":
            blank_lines.append(scan_json_text(name))
        try:
            parts.append(_load_quietly(builder, name))
        except Exception as exc:  # the datasets library raises many types for unreadable files
            problem = json_problem(name) if builder == "json" else None
            raise (problem or DataError(name, f"cannot be read as {builder}: {_reason(exc)}")) from exc
    file_starts = [0]
    for part in parts[:-1]:
        file_starts.append(file_starts[-1] + len(part))
    try:
        dataset = parts[0] if len(parts) == 1 else datasets.concatenate_datasets(parts)
    except ValueError as exc:
        raise DataError(source, f"files differ in columns or types: {exc}") from exc
    return RawSource(source, dataset, files, file_starts, blank_lines if len(blank_lines) == len(files) else [])


def read_hub(hub_id: str, split: str) -> RawSource:
    """Load one split of a hub dataset (network access; never used by the tests)."""
    hub_split_name = hub_split(hub_id, split)
    dataset = datasets.load_dataset(hub_id, split=hub_split_name)
    return RawSource(f"{hub_id} ({hub_split_name})", dataset, [], [])


def read_source(source: str, split: str = "train") -> RawSource:
    """Read a local source or a hub dataset split."""
    source = str(source)
    if not source.strip():
        raise DataError("''", "no data source given: the config names no file, directory or dataset here")
    return read_local(source) if is_local(source) else read_hub(source, split)
