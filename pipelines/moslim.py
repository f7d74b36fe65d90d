"""MOSLIM RL (MOSLIM §3.2, eq. 11): PPO, RLOO or online DPO against one multi-head intensity classifier, the
policy conditioned on preference tags such as ``<helpful 3><humor 1>`` in the prompt.

The loop is PRO-MORLHF's (``pipelines.pro_morlhf.run``): the same actors, algorithms and checkpoints, with the reward
side swapped through the driver's reward-source seams (``pro_rl.rl.moslim``): the source parses the prompts' tags at
load time, tags untagged prompts at random each step, scores with one reward actor, and gives the per-prompt
weights (``weights.mode: reward_source``) so that the loop's Σ_k w_k R_k is eq. 11; no orchestrator starts. Its
running statistics per head and intensity are checkpointed with the loop state.

Afterwards this pipeline writes ``plots/reward_curves.png`` (per tagged objective: its mapped reward and the raw
probability of the targeted intensity; the scalarised reward) and ``report.md``. The controllability evaluation
(the policy's output per requested intensity) is not part of this pipeline.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Sequence

from pipelines import RunResult
from pipelines import pro_morlhf
from pipelines.report import stage_timing
from pro_rl.config import ProRLConfig
from pro_rl.rl.moslim import classifier_heads
from pro_rl.training.metrics import read_metrics

CURVE_KINDS = (("reward/{}/mean", "mapped reward R (eq. 11 term)"),
               ("moslim/{}/target_prob", "p(target intensity)"))


def run(config: ProRLConfig) -> RunResult:
    result = pro_morlhf.run(config)
    heads = classifier_heads(config.moslim.reward_model)
    report = write_report(result.output_dir, config, heads)
    result.details["report"] = str(report.relative_to(result.output_dir))
    return result


def plot_curves(rows: List[dict], objectives: Sequence[str], output: Path) -> Path:
    """One panel per objective (mapped reward and target probability over the steps that tag it) and one for the
    scalarised reward; steps where no prompt tagged an objective are gaps."""
    from pipelines.figures import plt, save_figure

    figure, axes = plt.subplots(1, len(objectives) + 1, figsize=(4 * (len(objectives) + 1), 3.2), squeeze=False)
    for axis, name in zip(axes[0], objectives):
        for pattern, label in CURVE_KINDS:
            points = [(row["step"], row[pattern.format(name)]) for row in rows
                      if math.isfinite(row.get(pattern.format(name), math.nan))]
            axis.plot([s for s, _ in points], [v for _, v in points], marker=".", label=label)
        axis.set_title(f"<{name} n> prompts")
    axis = axes[0][-1]
    axis.plot([row["step"] for row in rows], [row["reward/total/mean"] for row in rows], marker=".", label="eq. 11")
    axis.set_title("scalarised reward (eq. 11)")
    for axis in axes[0]:
        axis.set_xlabel("RL step")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    return save_figure(figure, output, dpi=110)


def mean_of(rows: List[dict], key: str) -> float:
    values = [row[key] for row in rows if math.isfinite(row.get(key, math.nan))]
    return sum(values) / len(values) if values else math.nan


def objective_table(rows: List[dict], objectives: Sequence[str]) -> List[str]:
    """Per objective: mapped reward and target probability, averaged over the first and the last half of the run."""
    half = max(len(rows) // 2, 1)
    first, last = rows[:half], rows[half:] or rows[-1:]
    lines = ["| objective | R, first half | R, last half | p(target), first half | p(target), last half |",
             "| --- | --- | --- | --- | --- |"]
    for name in [*objectives, "total"]:
        reward_key, prob_key = f"reward/{name}/mean", f"moslim/{name}/target_prob"
        cells = [mean_of(first, reward_key), mean_of(last, reward_key), mean_of(first, prob_key), mean_of(last, prob_key)]
        lines.append(f"| {name} | " + " | ".join("–" if math.isnan(v) else f"{v:.4f}" for v in cells) + " |")
    return lines


def write_report(output_dir: Path, config: ProRLConfig, heads: Dict[str, int]) -> Path:
    rows = [row for row in read_metrics(output_dir / "metrics.jsonl") if "reward/total/mean" in row]
    objectives = list(heads)
    curves = plot_curves(rows, objectives, output_dir / "plots" / "reward_curves.png")
    skipped = rows[-1].get("data/skipped_bad_tags", 0.0) if rows else 0.0
    lines = [
        f"# MOSLIM RL report: {config.run.name}", "",
        f"Algorithm {config.algorithm.name}, {len(rows)} logged steps of {config.algorithm.prompt_batch_size} prompts "
        f"× {config.rollout.num_samples} samples; reward model {config.moslim.reward_model} with heads "
        + ", ".join(f"{name} (1..{levels})" for name, levels in heads.items())
        + f"; {config.moslim.min_tags}–{config.moslim.max_tags} tags per prompt; "
        f"{int(skipped)} prompt(s) skipped for bad tags.", "",
        "Training rewards. R of an objective is averaged over the prompts that tag it (eq. 11's term: the target "
        "intensity's probability, z-scored with the running statistics of that head and intensity); p(target) is "
        "the raw probability of the requested intensity; total is eq. 11.", "",
        *objective_table(rows, objectives), "",
        f"![reward curves]({curves.relative_to(output_dir)})", "",
        "## Time per RL step (mean over logged steps)", "",
        "| stage | seconds |", "| --- | --- |",
        *[f"| {key} | {value:.4f} |" for key, value in stage_timing(output_dir).items()], "",
    ]
    path = output_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
