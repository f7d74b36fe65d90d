"""``summary.json``: one summary per run directory, the same shape for every pipeline.

    {"pipeline", "run_name", "wall_time_s", "driver_peak_rss_mib", "metrics": {final metrics},
     "outputs": {"final": {name: "final/<name>"}, "model_cards": [...], "report": "report.md", "plots": [...],
                 "metrics": "metrics.jsonl", "config": "config.yaml", ...},
     ...pipeline-specific entries (``details``, e.g. the demo's "stages")}

Paths are relative to the run directory and listed only when they exist. ``driver_peak_rss_mib`` is the peak
resident memory of the driver process alone (``resource.getrusage``, so far in its life) — Ray actors and other
processes are not counted. Ray-free; ``pipelines.run`` writes it after every pipeline.
"""

from __future__ import annotations

import json
import math
import resource
import sys
from pathlib import Path
from typing import Dict, Mapping, Optional

from pro_rl.training.model_card import CARD_FILE, model_directories

SUMMARY_FILE = "summary.json"
RUN_FILES = {"config": "config.yaml", "metrics": "metrics.jsonl", "report": "report.md",
             "evaluation": "evaluation.json", "comparison": "comparison.json", "tensorboard": "tensorboard"}


def driver_peak_rss_mib() -> float:
    """Peak resident set size of this (driver) process in MiB (``ru_maxrss``: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)


def run_outputs(output_dir: Path) -> Dict[str, object]:
    """The outputs a run directory holds, as paths relative to it."""
    output_dir = Path(output_dir)
    outputs: Dict[str, object] = {key: name for key, name in RUN_FILES.items() if (output_dir / name).exists()}
    models = model_directories(output_dir)
    if models:
        outputs["final"] = {path.name: f"final/{path.name}" for path in models}
        cards = [f"final/{path.name}/{CARD_FILE}" for path in models if (path / CARD_FILE).is_file()]
        if cards:
            outputs["model_cards"] = cards
    plots = sorted((output_dir / "plots").glob("*.png")) if (output_dir / "plots").is_dir() else []
    if plots:
        outputs["plots"] = [str(path.relative_to(output_dir)) for path in plots]
    return outputs


def json_value(value: object) -> object:
    """A metric as JSON can hold it: NaN and infinities become their names as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def write_summary(output_dir: Path, *, pipeline: str, run_name: str, metrics: Mapping[str, object],
                  wall_time_s: float, details: Optional[Mapping[str, object]] = None) -> Path:
    """Write ``summary.json`` into ``output_dir``; its path."""
    output_dir = Path(output_dir)
    summary = {"pipeline": pipeline, "run_name": run_name, "wall_time_s": round(wall_time_s, 3),
               "driver_peak_rss_mib": driver_peak_rss_mib(),
               "metrics": {key: json_value(value) for key, value in metrics.items()},
               "outputs": run_outputs(output_dir), **(details or {})}
    path = output_dir / SUMMARY_FILE
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return path
