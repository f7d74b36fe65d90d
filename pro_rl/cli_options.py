"""Option values of the ``pro-rl`` command that argparse cannot check: comma-separated ``--weights`` and
``--scores``, and ``generate``'s sampling options against the ranges of the config's rollout keys. Each bad value is
a ``ConfigError``, which the command prints as one line (exit 2)."""

from __future__ import annotations

import argparse
import math
from typing import Callable, List


def parse_numbers(text: str, option: str, accept: Callable[[float], bool], what: str) -> List[float]:
    """Comma-separated numbers of ``option``; each must be finite and pass ``accept`` (else a ``ConfigError``
    saying it is not ``what``)."""
    from pro_rl.config import ConfigError

    numbers = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise ConfigError(f"{option} {text}: '{part.strip()}' is not a number") from None
        if not (math.isfinite(value) and accept(value)):
            raise ConfigError(f"{option} {text}: {part.strip()} is not {what}")
        numbers.append(value)
    return numbers


def parse_weights(text: str) -> List[float]:
    """``--weights 0.2,0.3,0.5`` → [0.2, 0.3, 0.5]; each must be a finite number ≥ 0 (count and sum: inference)."""
    return parse_numbers(text, "--weights", lambda value: value >= 0, "a finite weight ≥ 0")


def parse_scores(text: str) -> List[float]:
    """``--scores 0.5,1,0.25`` → [0.5, 1.0, 0.25]; each must be a finite number in [0, 1] (count: inference)."""
    return parse_numbers(text, "--scores", lambda value: 0 <= value <= 1, "a score in [0, 1]")


def check_sampling_args(args: argparse.Namespace) -> None:
    """The sampling options of ``generate``, with the ranges of the config's rollout keys (unset ones: defaults)."""
    from pro_rl.config import ConfigError

    temperature, top_p = args.temperature, args.top_p
    snap_grid = getattr(args, "snap_grid", None)
    checks = [("--num-samples", args.num_samples, args.num_samples >= 1, "≥ 1"),
              ("--max-new-tokens", args.max_new_tokens, args.max_new_tokens >= 1, "≥ 1"),
              ("--temperature", temperature, temperature is None or math.isfinite(temperature) and temperature >= 0,
               "≥ 0"),
              ("--top-p", top_p, top_p is None or math.isfinite(top_p) and 0 < top_p <= 1, "in (0, 1]"),
              ("--snap-grid", snap_grid, snap_grid is None or snap_grid >= 0, "≥ 0 (0: off)")]
    for option, value, ok, allowed in checks:
        if not ok:
            raise ConfigError(f"{option} must be {allowed}, got {value}")
