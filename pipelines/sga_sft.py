"""SGA, SFT variant (SGA eq. 7): the dual-head policy trained with CE on score-conditioned prompts + λ·MSE of its
score head, into ``<run>/final/policy/`` with ``report.md``. See ``pro_rl.training.sga``.

The pairs and their score targets are read and checked once, before the run directory is touched.
"""

from __future__ import annotations

from pipelines import RunResult, train_in_run_dir
from pipelines.sga_report import write_sga_report
from pro_rl.config import ProRLConfig
from pro_rl.training.sga import load_sga_inputs, train_sga


def run(config: ProRLConfig, variant: str = "sft") -> RunResult:
    def train(inputs, output_dir, metrics):
        result = train_sga(config, output_dir, metrics, variant, inputs)
        write_sga_report(output_dir, config, variant, result)
        return result

    return train_in_run_dir(config, lambda: load_sga_inputs(config), train)
