"""Supervised warm-up of the policy (PRO eq. 1) into ``<run>/final/policy/``."""

from __future__ import annotations

from pipelines import RunResult
from pro_rl.config import ProRLConfig
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.run_dir import prepare_run_dir
from pro_rl.training.sft import train_sft


def run(config: ProRLConfig) -> RunResult:
    output_dir = prepare_run_dir(config)
    metrics = MetricsLogger(output_dir)
    results = train_sft(config, output_dir, metrics)
    metrics.close()
    return RunResult(output_dir=output_dir, metrics=results)
