"""The demo's report: per-objective reward curves, the orchestrator's weights per prompt category, and the
held-out table of per-objective rewards and the w*-scalarised reward (the toy analogue of PRO's Table 5).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence

from pipelines.figures import plt, save_figure
from pro_rl.training.metrics import read_metrics


def moving_average(values: Sequence[float], window: int) -> List[float]:
    averaged, total = [], 0.0
    for index, value in enumerate(values):
        total += value
        if index >= window:
            total -= values[index - window]
        averaged.append(total / min(index + 1, window))
    return averaged


def reward_curves(runs: Dict[str, Path], objectives: Sequence[str], output: Path, window: int = 10) -> Path:
    """One panel per objective plus the scalarised reward; per run its moving average of ``window`` steps, with the
    raw per-step values faint behind it in the same colour."""
    keys = [f"reward/{name}/mean" for name in objectives] + ["reward/total/mean"]
    figure, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False)
    for index, (label, run_dir) in enumerate(runs.items()):
        rows = [row for row in read_metrics(run_dir / "metrics.jsonl") if "reward/total/mean" in row]
        steps, colour = [row["step"] for row in rows], f"C{index}"
        for axis, key in zip(axes[0], keys):
            raw = [row[key] for row in rows]
            axis.plot(steps, raw, color=colour, alpha=0.2, linewidth=0.8)
            axis.plot(steps, moving_average(raw, window), color=colour, label=label)
    for axis, key in zip(axes[0], keys):
        axis.set_title(key.replace("/mean", "").replace("reward/", "reward: ").replace("total", "scalarised, own weights"))
        axis.set_xlabel("RL step")
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"training reward ({window}-step mean)")
    axes[0][-1].legend()
    save_figure(figure, output, dpi=110)
    return output


def weights_by_category(weights: Sequence[Dict[str, float]], categories: Sequence[str]) -> Dict[str, Dict[str, float]]:
    """Mean orchestrator weight of each objective per prompt category."""
    sums: Dict[str, Dict[str, float]] = defaultdict(lambda: defaultdict(float))
    counts: Dict[str, int] = defaultdict(int)
    for row, category in zip(weights, categories):
        counts[category] += 1
        for name, value in row.items():
            sums[category][name] += value
    return {category: {name: total / counts[category] for name, total in sums[category].items()} for category in sums}


def weight_distribution_plot(weights: Sequence[Dict[str, float]], categories: Sequence[str], output: Path) -> Path:
    """Box plots of each objective's weight, one panel per prompt category."""
    names = list(weights[0])
    groups = sorted(set(categories))
    figure, axes = plt.subplots(1, len(groups), figsize=(4 * len(groups), 3.2), squeeze=False, sharey=True)
    for axis, category in zip(axes[0], groups):
        rows = [row for row, c in zip(weights, categories) if c == category]
        axis.boxplot([[row[name] for row in rows] for name in names], tick_labels=names)
        axis.set_title(f"prompts '{category}' (n={len(rows)})")
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    axes[0][0].set_ylabel("orchestrator weight")
    return save_figure(figure, output, dpi=110)


def held_out_rows(runs: Dict[str, Path], objectives: Sequence[str]) -> List[Dict[str, object]]:
    """Table rows: the policy before RL (step 0 of the first run) and each run's final held-out evaluation."""
    table = []
    for index, (label, run_dir) in enumerate(runs.items()):
        evaluations = [row for row in read_metrics(run_dir / "metrics.jsonl") if "eval/reward/w_star/mean" in row]
        if index == 0 and evaluations and evaluations[0]["step"] == 0:
            table.append(_table_row("before RL (SFT policy)", evaluations[0], objectives))
        if evaluations:
            table.append(_table_row(label, evaluations[-1], objectives))
    return table


def _table_row(label: str, row: dict, objectives: Sequence[str]) -> Dict[str, object]:
    values = {name: row[f"eval/reward/{name}/mean"] for name in objectives}
    return {"method": label, "step": row["step"], **values, "w_star": row["eval/reward/w_star/mean"]}


def markdown_table(rows: List[Dict[str, object]], objectives: Sequence[str]) -> str:
    header = "| method | RL steps | " + " | ".join(objectives) + " | w*-scalarised |"
    lines = [header, "|" + " --- |" * (len(objectives) + 3)]
    for row in rows:
        cells = " | ".join(f"{row[name]:.3f}" for name in objectives)
        lines.append(f"| {row['method']} | {row['step']} | {cells} | **{row['w_star']:.3f}** |")
    return "\n".join(lines)


def stage_timing(run_dir: Path) -> Dict[str, float]:
    """Mean seconds per stage over the logged RL steps (the first step excluded: it warms caches up)."""
    rows = [row for row in read_metrics(run_dir / "metrics.jsonl") if "time/step_s" in row][1:]
    keys = sorted({key for row in rows for key in row if key.startswith("time/")})
    return {key: sum(row.get(key, 0.0) for row in rows) / max(len(rows), 1) for key in keys}


def write_report(output: Path, runs: Dict[str, Path], objectives: Sequence[str], weights: Sequence[Dict[str, float]],
                 categories: Sequence[str], summary: Dict[str, Dict[str, float]], held_out: Sequence[str] = ()) -> Path:
    """``report.md`` and ``report.json``. ``held_out``: the report lines of the held-out evaluation with its verdict
    (``pipelines.demo_evaluation``); without them, the table of the RL runs' own one-sample held-out evaluations."""
    plots = output / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    curves = reward_curves(runs, objectives, plots / "reward_curves.png")
    distribution = weight_distribution_plot(weights, categories, plots / "orchestrator_weights.png")
    table = held_out_rows(runs, objectives)
    per_category = weights_by_category(weights, categories)
    timing = stage_timing(next(iter(runs.values())))
    held_out = list(held_out) or [
        "Held-out prompts, one sampled response each, scored by the trained reward models (raw scores). "
        "The w*-scalarised reward weights each prompt's scores by its ground-truth w*(x) — the quantity PRO's "
        "Theorem 5.1 says per-prompt weights should win on.", "", markdown_table(table, objectives), ""]
    lines = [
        "# pro-rl demo report: PRO-MORLHF vs MORLHF (uniform weights) on the toy world", "",
        *held_out,
        f"![reward curves]({curves.relative_to(output)})", "",
        "## Orchestrator weights per prompt category (held-out prompts)", "",
        "| category | " + " | ".join(objectives) + " |", "|" + " --- |" * (len(objectives) + 1),
        *[f"| {c} | " + " | ".join(f"{per_category[c][n]:.3f}" for n in objectives) + " |" for c in sorted(per_category)],
        "", f"![orchestrator weights]({distribution.relative_to(output)})", "",
        "## Stages", "",
        "| stage | held-out metric | value |", "| --- | --- | --- |",
        *[f"| {stage} | {key} | {value:.4f} |" for stage, values in summary.items() for key, value in values.items()],
        "", "## Time per RL step (PRO-MORLHF, mean over logged steps)", "",
        "| stage | seconds |", "| --- | --- |", *[f"| {key} | {value:.4f} |" for key, value in timing.items()], "",
    ]
    path = output / "report.md"
    path.write_text("\n".join(lines))
    (output / "report.json").write_text(json.dumps({"held_out": table, "weights_by_category": per_category,
                                                    "stage_timing_s": timing}, indent=2))
    return path
