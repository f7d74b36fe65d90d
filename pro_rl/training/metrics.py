"""Metrics to ``metrics.jsonl`` and the experiment trackers (``run.report_to``), and stage timers.

Keys follow DESIGN.md: ``step``, ``reward/<objective>/mean``, ``reward/total/mean``, ``weights/<objective>/mean``,
``kl/mean``, ``loss/<name>``, ``time/step_s``, ``time/<stage>_s``; training loops add ``train/...`` and ``eval/...``.
``metrics.jsonl`` gets every value; the trackers (tensorboard, wandb, mlflow: ``trackers.py``) get the finite
scalars, under names sanitised by ``trackers.tracker_key``. Each logged step is also one compact line on the
``pro_rl.metrics`` logger at INFO (``step 12 train/loss=0.6931 eval/kl=0.12``, 4 significant digits), which the
run's ``run.log`` records and the console leaves out (``run_dir.configure_logging``).
"""

from __future__ import annotations

import json
import logging
import math
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

from pro_rl.training.trackers import open_trackers, tracker_key

METRICS_LOGGER = "pro_rl.metrics"
metrics_logger = logging.getLogger(METRICS_LOGGER)


class MetricsLogger:
    """Appends one JSON object per logged step to ``metrics.jsonl`` and mirrors scalars to the trackers.

    With ``config`` (a ``ProRLConfig``: the logger of a run), the trackers are those ``config.run.report_to`` names;
    without it (a stage's or a test's logger), tensorboard alone when ``tensorboard`` is true.
    """

    def __init__(self, output_dir: Path, tensorboard: bool = True, filename: str = "metrics.jsonl",
                 config: Optional[Any] = None):
        self.path = Path(output_dir) / filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        names = list(config.run.report_to) if config is not None else (["tensorboard"] if tensorboard else [])
        self.trackers = open_trackers(names, Path(output_dir), config)
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
        scalars = {tracker_key(key): value for key, value in record.items()
                   if key != "step" and isinstance(value, float) and math.isfinite(value)}
        for tracker in self.trackers:
            tracker.log(int(step), scalars)
        metrics_logger.info("%s", metrics_line(record))
        self.last.update(record)

    def close(self) -> None:
        for tracker in self.trackers:
            tracker.close()
        self.trackers = []


def metrics_line(record: Dict[str, Any]) -> str:
    """``step N key=value ...`` with numbers to 4 significant digits (the run log's line of one logged step)."""
    def shown(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    values = " ".join(f"{key}={shown(value)}" for key, value in record.items() if key != "step")
    return f"step {record.get('step', '?')} {values}".rstrip()


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
