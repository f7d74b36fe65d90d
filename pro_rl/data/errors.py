"""The one exception type for bad data.

A `DataError` says where the problem is and what it is: the file (or hub dataset id and split), the row index when
the problem belongs to one row (0-based, counted in that file), and the problem itself, e.g.

    data/pairs.jsonl, row 17: empty prompt
    data/pairs.jsonl: missing column 'chosen' (columns: prompt, response)

When the line of a text file is known (JSONL), `line` (1-based) holds it and `one_line()` gives the form the
`pro-rl` command prints, `<problem> (<file>:<line>)`; otherwise `<problem> (<file>, row <row>)`.

It subclasses `ValueError`, so callers that only care that the input was wrong can catch that. It survives pickling
(Ray sends exceptions between processes), which a plain subclass with a custom `__init__` would not.
"""

from __future__ import annotations


class DataError(ValueError):
    """Bad input data, with the file (or dataset id), the row index when known, and the problem."""

    def __init__(self, source: str, problem: str, row: int | None = None, line: int | None = None):
        self.source = str(source)
        self.problem = problem
        self.row = row
        self.line = line
        where = self.source if row is None else f"{self.source}, row {row}"
        if line is not None and row is None:
            where += f", line {line}"
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):
        return (self.__class__, (self.source, self.problem, self.row, self.line))

    def one_line(self) -> str:
        """``<problem> (<file>:<line>)``, ``<problem> (<file>, row <row>)`` or ``<problem> (<file>)``."""
        if self.line is not None:
            return f"{self.problem} ({self.source}:{self.line})"
        return f"{self.problem} ({self.source if self.row is None else f'{self.source}, row {self.row}'})"


def missing_column_error(source: str, column: str, columns: list[str]) -> DataError:
    """The error for a column that the data must have and does not."""
    return DataError(source, f"missing column {column!r} (columns: {', '.join(columns) or 'none'})")
