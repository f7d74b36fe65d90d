"""Metrics to ``metrics.jsonl`` and tensorboard, and stage timers.

Keys follow DESIGN.md: ``step``, ``reward/<objective>/mean``, ``reward/total/mean``, ``weights/<objective>/mean``,
``kl/mean``, ``loss/<name>``, ``time/step_s``, ``time/<stage>_s``; training loops add ``train/...`` and ``eval/...``.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, Optional


class MetricsLogger:
    """Appends one JSON object per logged step to ``metrics.jsonl`` and mirrors scalars to tensorboard."""

    def __init__(self, output_dir: Path, tensorboard: bool = True, filename: str = "metrics.jsonl"):
        self.path = Path(output_dir) / filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(Path(output_dir) / "tensorboard"))
        self.last: Dict[str, float] = {}

    def truncate_after(self, step: int) -> None:
        """Drop lines logged after ``step`` (a resumed run re-logs them)."""
        self.drop_records(lambda record: record.get("step", 0) > step)

    def drop_records(self, dropped: Callable[[dict], bool]) -> None:
        """Rewrite ``metrics.jsonl`` without the records ``dropped(record)`` selects."""
        if not self.path.is_file():
            return
        kept = [line for line in self.path.read_text().splitlines() if line and not dropped(json.loads(line))]
        self.path.write_text("".join(line + "\n" for line in kept))

    def log(self, step: int, values: Dict[str, float]) -> None:
        record = {"step": int(step)}
        for key, value in values.items():
            record[key] = float(value) if isinstance(value, (int, float)) else value
        with self.path.open("a") as handle:
            handle.write(json.dumps(record, allow_nan=True) + "\n")
        if self.writer is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, float) and math.isfinite(value):
                    self.writer.add_scalar(key, value, global_step=step)
            self.writer.flush()
        self.last.update(record)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


class StageTimer:
    """Wall-clock seconds per named stage of one step: ``with timer.stage("generate"): ...``."""

    def __init__(self) -> None:
        self.seconds: Dict[str, float] = {}
        self._start: Optional[float] = None

    def start_step(self) -> None:
        self.seconds = {}
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - began

    def metrics(self) -> Dict[str, float]:
        values = {f"time/{name}_s": seconds for name, seconds in self.seconds.items()}
        if self._start is not None:
            values["time/step_s"] = time.perf_counter() - self._start
        return values
