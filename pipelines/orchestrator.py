"""Train the Preference Orchestrator on D_rm with the K reward models (PRO eqs. 6–8) into ``<run>/final/orchestrator/``.

D_rm and the held-out prompts are read and checked once, before the run directory is touched, and handed to
``train_orchestrator``.
"""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pro_rl.config import ProRLConfig
from pro_rl.training.orchestrator import load_inputs, train_orchestrator


def run(config: ProRLConfig) -> RunResult:
    return train_in_run_dir(config, lambda: load_inputs(config),
                            lambda inputs, output_dir, metrics: train_orchestrator(config, output_dir, metrics, inputs))
