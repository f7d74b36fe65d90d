"""The report of an SGA training run (``sga_sft`` / ``sga_dpo``): ``report.md`` and ``plots/sga_training.png``.

The report states what the score head learned — its MSE on held-out pairs and, when the held-out prompts carry the
true weights w* (the toy world's), the argmax agreement of the predicted scores ŝ with w* (the measure the
orchestrator reports as ``eval/w_star/argmax_agreement``) — next to the LM's held-out loss, and plots the training
losses per step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from pipelines.evaluation_report import format_number
from pipelines.figures import plt, save_figure
from pro_rl.config import ProRLConfig
from pro_rl.training.metrics import read_metrics

LOSS_NAMES = {"sft": ("loss", "ce", "mse"), "dpo": ("loss", "dpo", "mse", "accuracy")}


def plot_training(output_dir: Path, variant: str) -> Path:
    """One panel per training statistic (``train/sga/<name>``) against the step."""
    names = LOSS_NAMES[variant]
    rows = [row for row in read_metrics(output_dir / "metrics.jsonl") if "train/sga/loss" in row]
    figure, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3), squeeze=False)
    for axis, name in zip(axes[0], names):
        axis.plot([row["step"] for row in rows], [row.get(f"train/sga/{name}") for row in rows])
        axis.set_title(f"train: {name}")
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
    return save_figure(figure, output_dir / "plots" / "sga_training.png")


def write_sga_report(output_dir: Path, config: ProRLConfig, variant: str, metrics: Dict[str, float]) -> Path:
    """``report.md``: the setting, the held-out numbers of the final policy, and the training plot."""
    plot = plot_training(output_dir, variant)
    sga = config.sga
    equation = "L_CE + λ·L_MSE (eq. 7)" if variant == "sft" else f"{sga.dpo_weight:g}·L_DPO + λ·L_MSE (eq. 9, β {sga.dpo_beta:g})"
    agreement = metrics.get("eval/w_star/argmax_agreement")
    lines = [
        f"# SGA ({variant}) — {config.run.name}", "",
        f"Loss {equation}, λ = {sga.lam:g}; objectives {', '.join(config.objectives)}; policy `{config.policy.model}`;"
        f" score head {sga.head_layers} layers × {sga.head_hidden_size}. The policy with its head is in "
        "`final/policy` (`sga_head.safetensors`, `sga_head.json`, `sga_scores.json` beside the LM).", "",
        "| held-out measure | value |", "| --- | --- |",
        *[f"| {key} | {format_number(value)} |" for key, value in sorted(metrics.items()) if key.startswith("eval/")],
        "",
        "Score head: `eval/sga/mse` is the mean squared error of ŝ against the targets on held-out pairs; "
        + ("`eval/w_star/argmax_agreement` is the share of held-out prompts whose highest predicted score sits on "
           f"the objective w* weights most ({format_number(agreement)}; chance is about {1 / len(config.objectives):.2f})."
           if agreement is not None else "the held-out prompts carry no true weights, so no agreement with w* is given."),
        "", f"![training losses]({plot.relative_to(output_dir)})", "",
    ]
    path = output_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
