"""What the moslim_controllability pipeline writes from the plain-data summary of
``pro_rl.training.moslim_controllability.evaluate_controllability``: three plots in ``plots/`` and ``report.md``.

    controllability_single.png  Fig. 5: one column per tagged objective k; x = the requested intensity n of ``<k n>``;
                                top row the measured intensity class of every objective, bottom row its reward;
                                shaded: the bootstrap interval over prompts; dotted: the ideal (measured = requested)
    controllability_pairs.png   Fig. 6 (as grouped bars instead of radar charts): per pair of tags at their top class
                                (and untagged), every objective's measured class and reward with interval whiskers
    monotonicity.png            Spearman ρ of requested vs measured intensity per objective (undefined: no bar)
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional

from pipelines.evaluation_report import format_number
from pipelines.figures import plt, save_figure

MEASURES = (("intensity", "ground-truth intensity class"), ("reward", "ground-truth reward"))


def plot_single(summary: Dict, path: Path) -> Path:
    objectives, levels = summary["objectives"], summary["levels"]
    figure, axes = plt.subplots(len(MEASURES), len(objectives), figsize=(4.2 * len(objectives), 7), squeeze=False)
    for column, tagged in enumerate(objectives):
        sweep = [c for c in summary["conditions"] if c["kind"] == "single" and tagged in c["targets"]]
        requested = [c["targets"][tagged] for c in sweep]
        for row, (measure, label) in enumerate(MEASURES):
            axis = axes[row][column]
            for objective in objectives:
                mean, low, high = zip(*(c[measure][objective] for c in sweep))
                axis.plot(requested, mean, marker="o", label=objective, linewidth=2.5 if objective == tagged else 1.2)
                axis.fill_between(requested, low, high, alpha=0.2)
            if measure == "intensity":
                axis.plot(requested, requested, linestyle=":", color="black", label="requested")
            axis.set_title(f"<{tagged} n>")
            axis.set_xlabel(f"requested intensity n (1..{levels[tagged]})")
            axis.set_xticks(requested)
            axis.set_ylabel(label)
            axis.grid(alpha=0.3)
            axis.legend(fontsize=7)
    figure.suptitle("Controllability of preference intensity: one tag, varying n")
    return save_figure(figure, path)


def plot_pairs(summary: Dict, path: Path) -> Path:
    objectives = summary["objectives"]
    conditions = [c for c in summary["conditions"] if c["kind"] != "single"]
    figure, axes = plt.subplots(1, len(MEASURES), figsize=(max(6.0, 1.6 * len(conditions)) * len(MEASURES) / 1.5, 4),
                                squeeze=False)
    width = 0.8 / len(objectives)
    for axis, (measure, label) in zip(axes[0], MEASURES):
        for index, objective in enumerate(objectives):
            mean, low, high = zip(*(c[measure][objective] for c in conditions))
            positions = [x + (index - (len(objectives) - 1) / 2) * width for x in range(len(conditions))]
            errors = [[m - lo for m, lo in zip(mean, low)], [hi - m for m, hi in zip(mean, high)]]
            axis.bar(positions, mean, width, yerr=errors, capsize=2, label=objective)
        axis.set_xticks(range(len(conditions)))
        axis.set_xticklabels([c["label"] for c in conditions], rotation=20, fontsize=7)
        axis.set_ylabel(label)
        axis.grid(alpha=0.3, axis="y")
        axis.legend(fontsize=7)
    figure.suptitle("Controllability across objectives: pairs of tags at their top intensity")
    return save_figure(figure, path)


def plot_monotonicity(summary: Dict, path: Path) -> Path:
    objectives, rho = summary["objectives"], summary["spearman"]
    figure, axis = plt.subplots(figsize=(1.4 * len(objectives) + 2, 3.5))
    values = [rho[o] if rho[o] is not None else 0.0 for o in objectives]
    axis.bar(objectives, values, color=["tab:blue" if rho[o] is not None else "none" for o in objectives])
    for x, objective in enumerate(objectives):
        text = "undefined" if rho[objective] is None else f"{rho[objective]:.2f}"
        axis.annotate(text, (x, values[x]), ha="center", xytext=(0, 3 if values[x] >= 0 else -12),
                      textcoords="offset points", fontsize=8)
    axis.axhline(0.0, color="black", linewidth=0.8)
    axis.set_ylim(-1.1, 1.1)
    axis.set_ylabel("Spearman ρ (requested vs measured)")
    axis.set_title("Monotonicity of the intensity tags")
    return save_figure(figure, path)


def _cell(values: List[float]) -> str:
    """``mean [low, high]`` with two decimals (never "-0.00")."""
    mean, low, high = (round(value, 2) + 0.0 for value in values)
    return f"{mean:.2f} [{low:.2f}, {high:.2f}]"


def condition_table(summary: Dict, kinds: List[str]) -> List[str]:
    """Markdown rows: one per condition of ``kinds``; per objective its measured class, then its reward."""
    objectives = summary["objectives"]
    header = ["tags", *(f"{o} class" for o in objectives), *(f"{o} reward" for o in objectives)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for condition in (c for c in summary["conditions"] if c["kind"] in kinds):
        cells = [f"`{condition['label']}`", *(_cell(condition["intensity"][o]) for o in objectives),
                 *(_cell(condition["reward"][o]) for o in objectives)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def intensity_gain(summary: Dict, objective: str) -> Optional[float]:
    """Measured class of ``objective`` under its top tag minus under ``<objective 1>`` (None without a sweep)."""
    sweep = {c["targets"][objective]: c["intensity"][objective][0] for c in summary["conditions"]
             if c["kind"] == "single" and objective in c["targets"]}
    return sweep[max(sweep)] - sweep[min(sweep)] if sweep else None


def write_report(summary: Dict, output_dir: Path, plots: Dict[str, Path]) -> Path:
    objectives, rho = summary["objectives"], summary["spearman"]
    level = round(100 * summary["interval_level"])
    lines = [f"# MOSLIM controllability: {summary['policy']}", "",
             f"{summary['num_prompts']} held-out toy-world prompts × {summary['samples_per_prompt']} responses per "
             f"tag condition, the same sampling seed for every condition. Every response is measured by the toy "
             f"world's ground truth: the intensity class of each objective (1 = absent .. n_k) and its reward. "
             f"Cells: mean over prompts [{level} % bootstrap interval].", "",
             "## Monotonicity", "",
             "Spearman ρ between the requested intensity n of `<k n>` and the measured class of k, over every "
             "response of k's single-tag sweep; gain: measured class at the top n minus at n = 1.", "",
             "| objective | ρ | gain |", "|---|---|---|"]
    lines += [f"| {o} | {'undefined' if rho[o] is None else format_number(rho[o])} | "
              f"{format_number(intensity_gain(summary, o))} |" for o in objectives]
    lines += ["", f"![monotonicity]({plots['monotonicity'].relative_to(output_dir)})", "",
              "## One tag, varying intensity (Fig. 5)", "", *condition_table(summary, ["single"]), "",
              f"![single tags]({plots['single'].relative_to(output_dir)})", "",
              "## Pairs of tags at their top intensity (Fig. 6), and no tags", "",
              *condition_table(summary, ["pairs", "untagged"]), "",
              f"![pairs of tags]({plots['pairs'].relative_to(output_dir)})", ""]
    path = output_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
