"""Pipelines: drivers that read top to bottom, one per method.

``pipelines.run(config, overrides=()) -> RunResult`` runs whatever ``config.pipeline`` names; it is what
``pro-rl run`` calls. After every pipeline it writes a model card (``README.md``) into each ``final/<name>/`` and
``summary.json`` (final metrics, wall time, the driver's peak memory, output paths) into the run directory.
"""

from __future__ import annotations

import importlib
import time
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
    "sga_sft": "pipelines.sga_sft",
    "sga_dpo": "pipelines.sga_dpo",
    "moslim_reward_model": "pipelines.moslim_reward_model",
    "moslim": "pipelines.moslim",
    "moslim_controllability": "pipelines.moslim_controllability",
    "mora": "pipelines.mora",
}

Inputs = TypeVar("Inputs")


@dataclass
class RunResult:
    output_dir: Path
    metrics: Dict[str, float] = field(default_factory=dict)
    details: Dict[str, object] = field(default_factory=dict)  # pipeline-specific entries of summary.json


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
    metrics = MetricsLogger(output_dir, config=config)
    try:
        with interrupts.handling_signals(output_dir):
            results = train(inputs, output_dir, metrics)
    finally:
        metrics.close()
    return RunResult(output_dir=output_dir, metrics=results)


def run(config, overrides: Sequence[str] = ()) -> RunResult:
    """Run the pipeline a config names. ``config``: a YAML path, a ``ProRLConfig`` or a dict."""
    from pro_rl.training.model_card import write_model_cards
    from pro_rl.training.run_summary import write_summary

    resolved: ProRLConfig = load_config(config, overrides)
    module = importlib.import_module(PIPELINE_MODULES[resolved.pipeline])
    started = time.perf_counter()
    result = module.run(resolved)
    wall_time_s = time.perf_counter() - started
    write_model_cards(result.output_dir, resolved, result.metrics)
    write_summary(result.output_dir, pipeline=resolved.pipeline, run_name=resolved.run.name,
                  metrics=result.metrics, wall_time_s=wall_time_s, details=result.details)
    return result


__all__ = ["RunResult", "run", "load_config"]
