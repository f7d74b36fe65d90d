"""MORA (arXiv 2605.11679, Fig. 3): pre-sampling, single-reward prompt mining, intent-fusion rewriting, self-play
and max-margin DPO, with the referee's measures. The stages are in ``pro_rl.training.mora``.

This driver reads the inputs before the run directory is touched, runs the stages with the pipelines' generator
(``pipelines.generation``: the rollout engines and reward actors on Ray, or the driver with ``rollout.in_driver:
true``), and writes ``mora_summary.json`` and ``report.md`` (``pipelines.mora_report``).
"""

from __future__ import annotations

import json

from pipelines import RunResult, train_in_run_dir
from pipelines.generation import open_generator
from pipelines.mora_report import write_report
from pro_rl.config import ProRLConfig
from pro_rl.training.mora import train_mora
from pro_rl.training.mora_data import load_mora_inputs
from pro_rl.training.mora_summary import summary_metrics


def run(config: ProRLConfig) -> RunResult:
    details = {}

    def train(inputs, output_dir, metrics):
        summary = train_mora(config, output_dir, metrics, inputs, lambda policy: open_generator(config, policy))
        (output_dir / "mora_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        details.update(report=str(write_report(summary, output_dir)), world_version=summary["world_version"])
        return summary_metrics(summary)

    result = train_in_run_dir(config, lambda: load_mora_inputs(config), train)
    result.details = details
    return result
