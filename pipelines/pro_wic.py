"""PRO-WIC (PRO §4.3, eqs. 10–11) or RiC (``wic.conditioning: ric``) on one process: offline weight-conditioned SFT,
then online rejection sampling with orchestrator-recommended (PRO) or random (RiC) tags. See ``pro_rl.training.wic``.

The offline rows and the online prompts are read and checked before the run directory is touched; ``train_wic``
reads them again when it needs them.
"""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pro_rl.config import ConfigError, ProRLConfig
from pro_rl.data.canonical import data_limits, load_prompts
from pro_rl.training.wic import check_wic_config, train_wic
from pro_rl.training.wic_data import offline_rows


def check_inputs(config: ProRLConfig) -> None:
    offline_rows(config.wic.offline_data or config.data.sft, config.data)
    if config.wic.online_iterations > 0:
        if not config.data.prompts:
            raise ConfigError("key 'data.prompts': empty, but the online stage samples prompts from it")
        load_prompts(config.data.prompts, **data_limits(config.data))


def run(config: ProRLConfig) -> RunResult:
    check_wic_config(config)
    return train_in_run_dir(config, lambda: check_inputs(config),
                            lambda _, output_dir, metrics: train_wic(config, output_dir, metrics))
