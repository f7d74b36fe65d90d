"""Field helpers of the typed config: the ``Range`` a numeric key may take, the named ranges, and ``_field`` /
``_section``, which attach each field's one-line help (and its range) to the dataclass field metadata.

``schema.py`` declares every field with these (the underscore names are the schema's own declarators, not an API
for other modules); ``validate`` reads ``metadata["range"]`` back, so the help text and the check never disagree.
NaN and ±inf are never in a range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class Range:
    """The finite values a numeric key may take: ``low``..``high``, each end open or closed."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def __str__(self) -> str:
        low, high = _number(self.low), _number(self.high)
        if self.low == -math.inf and self.high == math.inf:
            return "any finite number"
        if self.high == math.inf:
            return f"{'>' if self.low_open else '≥'} {low}"
        if self.low == -math.inf:
            return f"{'<' if self.high_open else '≤'} {high}"
        return f"in {'(' if self.low_open else '['}{low}, {high}{')' if self.high_open else ']'}"


def _number(value: float) -> str:
    return str(int(value)) if math.isfinite(value) and float(value).is_integer() else f"{value:g}"


POSITIVE = Range(0, low_open=True)
NON_NEGATIVE = Range(0)
AT_LEAST_ONE = Range(1)
UNIT = Range(0, 1)  # [0, 1]
FRACTION = Range(0, 1, high_open=True)  # [0, 1)
PROBABILITY = Range(0, 1, low_open=True)  # (0, 1]
SEED = Range(0, 2**32 - 1)
ZERO_STAGE = Range(0, 3)
TINY_VOCAB = Range(261)  # the 256 byte tokens and 5 special tokens of the tiny tokenizer


def _field(default: Any, help: str, range: Optional[Range] = None) -> Any:
    """A dataclass field with a one-line help text; a numeric field also names its ``Range`` (added to the help)."""
    metadata = {"help": help} if range is None else {"help": f"{help} Range: {range}.", "range": range}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def _section(factory: Any, help: str) -> Any:
    """A dataclass field holding a whole section (a fresh one from ``factory`` per config), with its one-line help."""
    return field(default_factory=factory, metadata={"help": help})
