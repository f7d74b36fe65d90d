"""Controllability of a MOSLIM policy on the toy world (MOSLIM Figs. 5 and 6, and a monotonicity score).

Reads top to bottom: check the config and the run directory, generate and measure every tag condition
(``pro_rl.training.moslim_controllability``), then — only now touching the run directory — write the plots
(``pipelines.controllability_report``), ``report.md``, ``controllability.json`` and the final metrics:
``controllability/<objective>/spearman`` (when defined) and ``controllability/<objective>/gain``.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines import RunResult
from pipelines.controllability_report import intensity_gain, plot_monotonicity, plot_pairs, plot_single, write_report
from pro_rl.config import ProRLConfig
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.moslim_controllability import check_controllability_config, evaluate_controllability
from pro_rl.training.run_dir import check_run_dir, prepare_run_dir


def run(config: ProRLConfig) -> RunResult:
    check_controllability_config(config)
    check_run_dir(config)
    summary = evaluate_controllability(config)
    return write_outputs(summary, prepare_run_dir(config), config)


def write_outputs(summary: dict, output_dir: Path, config: ProRLConfig) -> RunResult:
    plots = {"single": plot_single(summary, output_dir / "plots" / "controllability_single.png"),
             "pairs": plot_pairs(summary, output_dir / "plots" / "controllability_pairs.png"),
             "monotonicity": plot_monotonicity(summary, output_dir / "plots" / "monotonicity.png")}
    report = write_report(summary, output_dir, plots)
    (output_dir / "controllability.json").write_text(json.dumps(summary, indent=2) + "\n")
    final = {f"controllability/{objective}/spearman": rho for objective, rho in summary["spearman"].items()
             if rho is not None}
    final.update({f"controllability/{objective}/gain": intensity_gain(summary, objective)
                  for objective in summary["objectives"]})
    metrics = MetricsLogger(output_dir, tensorboard=False, config=config)
    metrics.log(0, final)
    metrics.close()
    return RunResult(output_dir=output_dir, metrics=final,
                     details={"report": str(report.relative_to(output_dir))})
