"""What the compare_methods pipeline writes: every method's front in one plot (``plots/pareto_fronts.png``), the
equal-weight, hypervolume and default-weight tables (``report.md``) and ``comparison.json``.

Input: one ``evaluation.json`` summary per method (``pro_rl.training.evaluation.summarise``). The hypervolumes are
recomputed above one reference point shared by all methods (``evaluate.reference_point``; empty: the component-wise
minimum over every method's points minus 1), so that they compare. The joint front is the Pareto front of all
methods' points together; a method's share of it says where it is best.
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path
from typing import Dict, List, Sequence

import matplotlib
import torch

from pipelines.evaluation_report import format_number
from pro_rl.algorithms import hypervolume, pareto_mask

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

METHOD_LABELS = {
    "morlhf": "MORLHF (uniform weights)",
    "rewarded_soups": "Rewarded Soups",
    "ric_offline": "RiC (offline)",
    "ric_online": "RiC (online)",
    "pro_wic": "PRO-WIC",
    "pro_morlhf": "PRO-MORLHF",
    "sga_sft": "SGA-SFT",
    "sga_dpo": "SGA-DPO",
    "moslim": "MOSLIM",
}
DEFAULT_POINT = {"fixed": "its policy", "soups": "equal weights", "ric": "equal weights",
                 "wic": "orchestrator f(x)", "sga": "sensed scores ŝ(x)", "moslim": "no tags"}
OWN_DEFAULT = {"wic": "orchestrator", "sga": "adaptive", "moslim": "untagged"}  # summary key of a method's own default


def own_default(summary: Dict) -> Dict | None:
    """The extra point a method evaluates for a user who gives no weights: the orchestrator's weights (PRO-WIC),
    the scores SGA's head senses, MOSLIM's untagged prompts; None for the others."""
    key = OWN_DEFAULT.get(summary["method"])
    return summary.get(key) if key else None


def default_point(summary: Dict) -> Dict:
    """The point a user who gives no weights gets: the method's own default (``own_default``), the policy's own
    (fixed methods) or the equal-weight point (soups, RiC; the grid's first point when it lacks one)."""
    return own_default(summary) or summary["equal_weights"] or summary["points"][0]


def shared_reference(summaries: Dict[str, Dict], reference_point: Sequence[float]) -> List[float]:
    if reference_point:
        return list(reference_point)
    every = torch.tensor([p["rewards"] for s in summaries.values() for p in s["points"]], dtype=torch.float64)
    return (every.min(dim=0).values - 1.0).tolist()


def compare(summaries: Dict[str, Dict], reference_point: Sequence[float]) -> Dict:
    """Per method: hypervolume above the shared reference, own-front and joint-front counts, the equal-weight and
    default points; as plain data."""
    reference = shared_reference(summaries, reference_point)
    owners = [(method, index) for method, s in summaries.items() for index in range(len(s["points"]))]
    every = torch.tensor([summaries[m]["points"][i]["rewards"] for m, i in owners], dtype=torch.float64)
    joint = pareto_mask(every).tolist()
    rows = {}
    for method, summary in summaries.items():
        matrix = torch.tensor([p["rewards"] for p in summary["points"]], dtype=torch.float64)
        equal, default = summary["equal_weights"], default_point(summary)
        rows[method] = {
            "label": METHOD_LABELS.get(method, method),
            "evaluation": summary["method"],
            "points": len(summary["points"]),
            "own_front": int(pareto_mask(matrix).sum()),
            "joint_front": sum(flag for (owner, _), flag in zip(owners, joint) if owner == method),
            "hypervolume": hypervolume(matrix, reference),
            "equal_weights": equal["rewards"] if equal else None,
            "equal_weights_mean": sum(equal["rewards"]) / len(equal["rewards"]) if equal else None,
            "equal_weights_true_scalarised": equal.get("true_scalarised") if equal else None,
            "default": DEFAULT_POINT[summary["method"]],
            "default_rewards": default["rewards"],
            "default_true_scalarised": default.get("true_scalarised"),
        }
    objectives = next(iter(summaries.values()))["objectives"]
    return {"objectives": objectives, "reference_point": reference, "methods": rows}


def plot_fronts(summaries: Dict[str, Dict], path: Path) -> Path:
    """One panel per pair of objectives; each method in its colour, its own front filled, dominated points
    hollow, single-point methods as large squares, a method's own default point (orchestrator, sensed scores, no
    tags) as a star."""
    objectives = next(iter(summaries.values()))["objectives"]
    pairs = list(combinations(range(len(objectives)), 2)) or [(0, 0)]
    figure, axes = plt.subplots(1, len(pairs), figsize=(5 * len(pairs), 4.5), squeeze=False)
    colours = plt.get_cmap("tab10")
    for axis, (i, j) in zip(axes[0], pairs):
        for index, (method, summary) in enumerate(summaries.items()):
            colour = colours(index % 10)
            points = summary["points"]
            single = len(points) == 1
            for n, point in enumerate(points):
                axis.scatter([point["rewards"][i]], [point["rewards"][j]], s=90 if single else 30,
                             marker="s" if single else "o", edgecolors=colour,
                             facecolors=colour if point["on_front"] else "none",
                             label=METHOD_LABELS.get(method, method) if n == 0 else None)
            own = own_default(summary)
            if own:
                rewards = own["rewards"]
                axis.scatter([rewards[i]], [rewards[j]], marker="*", s=180, color=colour, edgecolors="black",
                             label=f"{METHOD_LABELS.get(method, method)}, {DEFAULT_POINT[summary['method']]}")
        axis.set_xlabel(objectives[i])
        axis.set_ylabel(objectives[j])
        axis.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="best")
    figure.suptitle("Mean reward per weight point, every method (filled: on the method's own Pareto front)")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def write_comparison(summaries: Dict[str, Dict], output_dir: Path, reference_point: Sequence[float]) -> Dict:
    """``report.md``, ``comparison.json`` and the plot into ``output_dir``; returns the comparison."""
    comparison = compare(summaries, reference_point)
    objectives, rows = comparison["objectives"], comparison["methods"]
    with_truth = all(row["default_true_scalarised"] is not None for row in rows.values())
    truth_header = ["w*-scalarised"] if with_truth else []
    plot = plot_fronts(summaries, output_dir / "plots" / "pareto_fronts.png")

    def truth(value):
        return [format_number(value)] if with_truth else []

    equal = _table(["method", *objectives, "mean", *truth_header],
                   [[row["label"], *(format_number(v) for v in row["equal_weights"] or [None] * len(objectives)),
                     format_number(row["equal_weights_mean"]), *truth(row["equal_weights_true_scalarised"])]
                    for row in rows.values()])
    volumes = _table(["method", "evaluated as", "points", "on own front", "on joint front", "hypervolume"],
                     [[row["label"], row["evaluation"], str(row["points"]), str(row["own_front"]),
                       str(row["joint_front"]), format_number(row["hypervolume"])] for row in rows.values()])
    defaults = _table(["method", "weights", *objectives, *truth_header],
                      [[row["label"], row["default"], *(format_number(v) for v in row["default_rewards"]),
                        *truth(row["default_true_scalarised"])] for row in rows.values()])
    lines = [
        "# Multi-objective methods compared", "",
        f"Mean raw reward per objective on held-out prompts; hypervolumes above the shared reference point "
        f"({', '.join(f'{r:.3g}' for r in comparison['reference_point'])}). Each method's own report is in "
        "`evaluations/<method>/report.md`.", "",
        f"![Pareto fronts]({plot.relative_to(output_dir)})", "",
        "## Equal weights", "", *equal, "",
        "## Hypervolume", "", *volumes, "",
        "## Without user weights", "",
        "What a user who gives no weights gets" + (
            "; w*-scalarised is the mean of Σ_k w*_k(x) r_k with each prompt's own ground-truth weights."
            if with_truth else "."), "",
        *defaults, "",
    ]
    (output_dir / "report.md").write_text("\n".join(lines))
    (output_dir / "comparison.json").write_text(json.dumps(comparison, indent=2) + "\n")
    return comparison
