"""The one exception type for a config that cannot be run.

Its message keeps the form ``<file>: key '<key>': <reason>`` (the file part is absent where the raiser has no file,
e.g. ``key 'run.output_dir': ...`` from the run directory checks). The parts are also parsed into ``origin``,
``key`` and ``reason``, so that the ``pro-rl`` command can print ``<reason> (key '<key>' in <file>)``.
It survives pickling (Ray sends exceptions between processes).
"""

from __future__ import annotations

import re
from typing import Iterable, NoReturn, Optional

_KEYED_MESSAGE = re.compile(r"^(?:(?P<origin>.*?): )?key '(?P<key>[^']*)': (?P<reason>.*)$", re.DOTALL)


class ConfigError(ValueError):
    """A config that cannot be run; the message names the key and the file."""

    def __init__(self, message: str):
        super().__init__(message)
        match = _KEYED_MESSAGE.match(str(message))
        self.origin: Optional[str] = match["origin"] if match else None
        self.key: Optional[str] = match["key"] if match else None
        self.reason: str = match["reason"] if match else str(message)

    def __reduce__(self):
        return (self.__class__, (str(self),))

    def one_line(self) -> str:
        """``<reason> (key '<key>' in <file>)``, or the message as it is when it names no key."""
        if self.key is None:
            return str(self)
        where = f"key '{self.key}'" + (f" in {self.origin}" if self.origin else "")
        return f"{self.reason} ({where})"


def fail(origin: str, key: str, reason: str) -> NoReturn:
    """Raise the ``ConfigError`` ``<origin>: key '<key>': <reason>`` (the form every validation check uses)."""
    raise ConfigError(f"{origin}: key '{key}': {reason}")


def one_of(origin: str, key: str, value: str, allowed: Iterable[str]) -> None:
    """``fail`` unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        fail(origin, key, f"'{value}' is not one of {', '.join(allowed)}")
