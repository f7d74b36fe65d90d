"""Train the Preference Orchestrator on D_rm with the K reward models (PRO eqs. 6–8) into ``<run>/final/orchestrator/``.

D_rm and the held-out prompts are read and checked before the run directory is touched. ``train_orchestrator``
reads them again (it takes no loaded data yet); with local JSONL that costs a second parse of the files.
"""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pro_rl.config import ProRLConfig
from pro_rl.data.canonical import load_pairs
from pro_rl.training.orchestrator import load_true_weights, train_orchestrator


def check_inputs(config: ProRLConfig) -> None:
    """Read D_rm and the held-out prompts as training will, so a bad row fails before any work."""
    load_pairs(config.data.general_pairs, adapter=config.data.general_pairs_adapter,
               max_rows=config.data.max_rows or None, max_chars=config.data.max_chars or None,
               on_bad_row=config.data.on_bad_row)
    load_true_weights(config, config.objectives)


def run(config: ProRLConfig) -> RunResult:
    return train_in_run_dir(config, lambda: check_inputs(config),
                            lambda _, output_dir, metrics: train_orchestrator(config, output_dir, metrics))
