"""PRO-WIC (PRO §4.3, eqs. 10–11) or RiC (``wic.conditioning: ric``) on one process: offline weight-conditioned SFT,
then online rejection sampling with orchestrator-recommended (PRO) or random (RiC) tags. See ``pro_rl.training.wic``.
"""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pro_rl.config import ProRLConfig
from pro_rl.training.wic import check_wic_config, train_wic


def run(config: ProRLConfig) -> RunResult:
    check_wic_config(config)
    return train_in_run_dir(config, lambda output_dir, metrics: train_wic(config, output_dir, metrics))
