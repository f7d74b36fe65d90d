"""Train the K reward models, one per objective (PRO eq. 2), into ``<run>/final/<objective>/``.

Every objective's pairs are read and checked before the run directory is touched; then the models train one after
another, each resumable from ``checkpoints/<objective>/``.
"""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pro_rl.config import ProRLConfig
from pro_rl.training.reward_model import load_reward_pairs, train_reward_model


def run(config: ProRLConfig) -> RunResult:
    def load():
        return [load_reward_pairs(config, spec) for spec in config.reward_models]

    def train_all(pairs_per_objective, output_dir, metrics):
        results = {}
        for spec, pairs in zip(config.reward_models, pairs_per_objective):
            results.update(train_reward_model(config, spec, output_dir, metrics, pairs))
        return results

    return train_in_run_dir(config, load, train_all)
