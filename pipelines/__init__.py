"""Pipelines: drivers that read top to bottom, one per method.

``pipelines.run(config, overrides=()) -> RunResult`` runs whatever ``config.pipeline`` names; it is what
``pro-rl run`` calls.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Sequence, TypeVar

from pro_rl.config import ProRLConfig, load_config

PIPELINE_MODULES = {
    "reward_models": "pipelines.reward_models",
    "orchestrator": "pipelines.orchestrator",
    "sft": "pipelines.sft",
    "pro_morlhf": "pipelines.pro_morlhf",
    "demo": "pipelines.demo",
    "pro_wic": "pipelines.pro_wic",
    "evaluate": "pipelines.evaluate",
    "rewarded_soups": "pipelines.rewarded_soups",
    "compare_methods": "pipelines.compare_methods",
}

Inputs = TypeVar("Inputs")


@dataclass
class RunResult:
    output_dir: Path
    metrics: Dict[str, float] = field(default_factory=dict)


def train_in_run_dir(config: ProRLConfig, load: Callable[[], Inputs],
                     train: Callable[[Inputs, Path, "MetricsLogger"], Dict[str, float]]) -> RunResult:
    """A single-process training pipeline, in the order that keeps an earlier run safe: check the run directory
    (reads only), ``load()`` and check every input, only then prepare the directory and ``train(inputs,
    output_dir, metrics)``. SIGINT/SIGTERM stop training at a step boundary with ``RunInterrupted``."""
    from pro_rl.training import interrupts
    from pro_rl.training.metrics import MetricsLogger
    from pro_rl.training.run_dir import check_run_dir, prepare_run_dir

    check_run_dir(config)
    inputs = load()
    output_dir = prepare_run_dir(config)
    metrics = MetricsLogger(output_dir)
    try:
        with interrupts.handling_signals(output_dir):
            results = train(inputs, output_dir, metrics)
    finally:
        metrics.close()
    return RunResult(output_dir=output_dir, metrics=results)


def run(config, overrides: Sequence[str] = ()) -> RunResult:
    """Run the pipeline a config names. ``config``: a YAML path, a ``ProRLConfig`` or a dict."""
    resolved: ProRLConfig = load_config(config, overrides)
    module = importlib.import_module(PIPELINE_MODULES[resolved.pipeline])
    return module.run(resolved)


__all__ = ["RunResult", "run", "load_config"]
