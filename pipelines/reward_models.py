"""Train the K reward models, one per objective (PRO eq. 2), into ``<run>/final/<objective>/``."""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pro_rl.config import ProRLConfig
from pro_rl.training.reward_model import train_reward_model


def run(config: ProRLConfig) -> RunResult:
    def train_all(output_dir, metrics):
        results = {}
        for spec in config.reward_models:
            results.update(train_reward_model(config, spec, output_dir, metrics))
        return results

    return train_in_run_dir(config, train_all)
