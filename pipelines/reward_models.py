"""Train the K reward models, one per objective (PRO eq. 2), into ``<run>/final/<objective>/``."""

from __future__ import annotations

from pipelines import RunResult
from pro_rl.config import ProRLConfig
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.reward_model import train_reward_model
from pro_rl.training.run_dir import prepare_run_dir


def run(config: ProRLConfig) -> RunResult:
    output_dir = prepare_run_dir(config)
    metrics = MetricsLogger(output_dir)
    results = {}
    for spec in config.reward_models:
        results.update(train_reward_model(config, spec, output_dir, metrics))
    metrics.close()
    return RunResult(output_dir=output_dir, metrics=results)
