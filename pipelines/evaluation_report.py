"""What the evaluate pipeline writes: the front's plot (``plots/pareto_front.png``), ``report.md`` and
``evaluation.json``, from the plain-data summary of ``pro_rl.training.evaluation.summarise``.

K = 2: one scatter of the grid's points joined in grid order, each marked with its w1; K >= 3: one panel per pair of
objectives (pairwise projections). Points on the Pareto front are filled, dominated ones hollow; the orchestrator's
default-weight point is a star, MOSLIM's untagged point (prompts without tags) a green diamond.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pipelines.figures import plt, save_figure


def plot_front(summary: Dict, path: Path) -> Path:
    objectives: List[str] = summary["objectives"]
    points = summary["points"]
    pairs = list(combinations(range(len(objectives)), 2)) or [(0, 0)]
    figure, axes = plt.subplots(1, len(pairs), figsize=(4.5 * len(pairs), 4), squeeze=False)
    for axis, (i, j) in zip(axes[0], pairs):
        xs = [p["rewards"][i] for p in points]
        ys = [p["rewards"][j] for p in points]
        if len(objectives) == 2:
            axis.plot(xs, ys, color="tab:blue", alpha=0.4)
        for point, x, y in zip(points, xs, ys):
            axis.scatter([x], [y], color="tab:blue", facecolors="tab:blue" if point["on_front"] else "none")
            if point["weights"] is not None and len(objectives) == 2:
                axis.annotate(f"{point['weights'][0]:.1f}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
        if summary["orchestrator"]:
            rewards = summary["orchestrator"]["rewards"]
            axis.scatter([rewards[i]], [rewards[j]], marker="*", s=140, color="tab:red", label="orchestrator")
            axis.legend(fontsize=7)
        if summary.get("untagged"):  # MOSLIM's default point: the prompts without tags
            rewards = summary["untagged"]["rewards"]
            axis.scatter([rewards[i]], [rewards[j]], marker="D", s=60, color="tab:green", label="untagged")
            axis.legend(fontsize=7)
        if summary.get("adaptive"):  # SGA's default point: the scores its head senses
            rewards = summary["adaptive"]["rewards"]
            axis.scatter([rewards[i]], [rewards[j]], marker="P", s=90, color="tab:purple", label="adaptive (SGA)")
            axis.legend(fontsize=7)
        axis.set_xlabel(objectives[i])
        axis.set_ylabel(objectives[j])
        axis.grid(alpha=0.3)
    figure.suptitle(f"{summary['method']}: mean reward per weight point (HV {summary['hypervolume']:.4g})")
    save_figure(figure, path, dpi=100)
    return path


def format_number(value: Optional[float]) -> str:
    """Four decimals, never "-0.0000"; a dash for a missing value."""
    return "—" if value is None else f"{round(value, 4) + 0.0:.4f}"


def format_interval(value: Optional[float], interval: Optional[Sequence[float]]) -> str:
    """"0.512 [0.480, 0.540]": a mean with its bootstrap interval, three decimals; the mean alone (four decimals)
    without one."""
    if value is None or not interval:
        return format_number(value)
    low, high = interval
    return "{:.3f} [{:.3f}, {:.3f}]".format(*(round(v, 3) + 0.0 for v in (value, low, high)))


def _row(point: Dict, with_truth: bool, extra: str = "", with_ground_truth: bool = False) -> str:
    weights, rewards = point["weights"], point["rewards"]
    weight_text = "—" if weights is None else ", ".join(f"{w:.2f}" for w in weights)
    intervals = point.get("rewards_interval") or [None] * len(rewards)
    cells = [point["label"], weight_text, *(format_interval(r, i) for r, i in zip(rewards, intervals)),
             format_number(sum(rewards) / len(rewards))]
    if with_truth:
        cells.append(format_interval(point["true_scalarised"], point.get("true_scalarised_interval")))
    if with_ground_truth:
        truth = point.get("ground_truth_rewards") or [None] * len(rewards)
        truth_intervals = point.get("ground_truth_rewards_interval") or [None] * len(rewards)
        cells += [*(format_interval(r, i) for r, i in zip(truth, truth_intervals)),
                  format_interval(point.get("ground_truth_scalarised"), point.get("ground_truth_scalarised_interval"))]
    return "| " + " | ".join(cells) + (f" | {extra} |" if extra else " |")


def has_truth(summary: Dict) -> bool:
    """Whether the held-out prompts carried w*(x), so every point has a w*-scalarised reward."""
    return all(p["true_scalarised"] is not None for p in summary["points"])


def has_ground_truth(summary: Dict) -> bool:
    """Whether the held-out prompts were the toy world's, so every point has ground-truth rewards."""
    return all(p.get("ground_truth_scalarised") is not None for p in summary["points"])


def sampling_note(summary: Dict) -> str:
    """How the means were taken: prompts, responses per prompt, the interval's level."""
    point = summary["points"][0]
    if point.get("num_prompts") is None:
        return "Means over the held-out responses."
    level = round(100 * point["interval_level"])
    return (f"Means over {point['num_prompts']} held-out prompts × {point['samples_per_prompt']} responses each "
            f"(per prompt its responses' mean, then the mean over prompts); [low, high]: {level} % bootstrap "
            "interval over prompts.")


def write_report(summary: Dict, output_dir: Path, plot_path: Path) -> Path:
    objectives = summary["objectives"]
    with_truth, with_ground_truth = has_truth(summary), has_ground_truth(summary)
    truth_columns = [f"ground truth: {name}" for name in objectives] + ["ground truth: w*-scalarised"]
    header = "| point | weights | " + " | ".join(objectives) + " | mean |" + (" w*-scalarised |" if with_truth else "") \
        + ("".join(f" {name} |" for name in truth_columns) if with_ground_truth else "")
    rule = "|" + "---|" * (len(objectives) + 3 + with_truth + with_ground_truth * len(truth_columns))
    lines = [f"# Evaluation: {summary['method']}", "", *([f"Rewards: {summary['world']}.", ""] if summary.get("world") else []),
             f"Hypervolume {summary['hypervolume']:.6g} above reference point "
             f"({', '.join(f'{r:.3g}' for r in summary['reference_point'])}); "
             f"{sum(p['on_front'] for p in summary['points'])} of {len(summary['points'])} points on the Pareto front.",
             "", sampling_note(summary) + (" Reward-model scores first, then the toy world's ground-truth rewards of "
                                           "the same responses." if with_ground_truth else ""),
             "", f"![Pareto front]({plot_path.relative_to(output_dir)})", "", "## Equal weights", "",
             header, rule]
    for key in ("equal_weights", "orchestrator", "untagged", "adaptive"):
        if summary.get(key):
            lines.append(_row(summary[key], with_truth, with_ground_truth=with_ground_truth))
    lines += ["", "## Weight grid (mean raw reward per objective)", "", header + " on front |", rule + "---|"]
    for point in summary["points"]:
        lines.append(_row(point, with_truth, "yes" if point["on_front"] else "no", with_ground_truth))
    if summary.get("sga"):
        lines += sga_section(summary["sga"], objectives)
    path = output_dir / "report.md"
    path.write_text("\n".join(lines) + "\n")
    (output_dir / "evaluation.json").write_text(json.dumps(summary, indent=2) + "\n")
    return path


def sga_section(table: Dict, objectives: List[str]) -> List[str]:
    """Report lines of SGA's Table-5 analogue: one row per inference strategy (and the baseline), then the score
    head's accuracy as a preference sensor (``pro_rl.training.sga_evaluation``)."""
    baseline = table["baseline_policy"] or "none (set evaluate.baseline_policy)"
    lines = ["", "## SGA inference strategies (SGA Table 5)", "",
             f"Win rate: share of responses with a higher w*-scalarised reward than the baseline's response to the "
             f"same prompt (ties count 0.5); baseline: {baseline}.", "",
             "| strategy | mean scores | " + " | ".join(objectives) + " | w*-scalarised | win rate |",
             "|" + "---|" * (len(objectives) + 4)]
    for row in table["strategies"]:
        cells = [row["label"], ", ".join(f"{s:.2f}" for s in row["scores"]), *map(format_number, row["rewards"]),
                 format_number(row["true_scalarised"]), format_number(row["win_rate"])]
        lines.append("| " + " | ".join(cells) + " |")
    if table["baseline"]:
        row = table["baseline"]
        lines.append("| " + " | ".join(["baseline", "—", *map(format_number, row["rewards"]),
                                        format_number(row["true_scalarised"]), "—"]) + " |")
    lines += [f"- {name}: skipped, {reason}" for name, reason in table["skipped"].items()]
    head = table["head"]
    lines += ["", "Score head as a preference sensor: MSE of ŝ against the toy world's targets for w* "
              f"{format_number(head['mse'])}, argmax agreement of ŝ with w* {format_number(head['argmax_agreement'])}"
              " (the orchestrator's measure); mean ŝ " + ", ".join(f"{s:.3f}" for s in head["mean_sensed"]) + "."]
    return lines

