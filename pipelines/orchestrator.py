"""Train the Preference Orchestrator on D_rm with the K reward models (PRO eqs. 6–8) into ``<run>/final/orchestrator/``."""

from __future__ import annotations

from pipelines import RunResult
from pro_rl.config import ProRLConfig
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.orchestrator import train_orchestrator
from pro_rl.training.run_dir import prepare_run_dir


def run(config: ProRLConfig) -> RunResult:
    output_dir = prepare_run_dir(config)
    metrics = MetricsLogger(output_dir)
    results = train_orchestrator(config, output_dir, metrics)
    metrics.close()
    return RunResult(output_dir=output_dir, metrics=results)
