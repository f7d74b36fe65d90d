"""PRO-WIC (PRO §4.3, eqs. 10–11) or RiC (``wic.conditioning: ric``): offline weight-conditioned SFT, then online
rejection sampling with orchestrator-recommended (PRO) or random (RiC) tags. See ``pro_rl.training.wic``. The reward
actors score the offline rows and the online samples, which the rollout engines generate (``pipelines.generation``);
the fine-tuning stages run in the driver.

The offline rows and the online prompts are read and checked once, before the run directory is touched, and
handed to ``train_wic``.
"""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pipelines.generation import make_generator
from pro_rl.config import ProRLConfig
from pro_rl.training.wic import check_wic_config, train_wic
from pro_rl.training.wic_data import load_wic_inputs


def run(config: ProRLConfig) -> RunResult:
    check_wic_config(config)
    return train_in_run_dir(config, lambda: load_wic_inputs(config),
                            lambda inputs, output_dir, metrics: train_wic(config, output_dir, metrics, inputs,
                                                                           make_generator))
