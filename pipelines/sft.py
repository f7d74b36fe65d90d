"""Supervised warm-up of the policy (PRO eq. 1) into ``<run>/final/policy/``, resumable from ``checkpoints/policy/``."""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pro_rl.config import ProRLConfig
from pro_rl.training.sft import sft_rows, train_sft


def run(config: ProRLConfig) -> RunResult:
    return train_in_run_dir(
        config, lambda: sft_rows(config.data.sft),
        lambda rows, output_dir, metrics: train_sft(config, output_dir, metrics, rows,
                                                    checkpoint_root=output_dir / "checkpoints" / "policy"))
