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
from typing import Dict, List, Optional, Sequence

import torch

from pipelines.evaluation_report import format_interval, format_number
from pipelines.figures import plt, save_figure
from pro_rl.algorithms import hypervolume, pareto_mask
from pro_rl.training.evaluation_statistics import paired_difference, seed_spread, verdict_key, verdict_sentence

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
    "mora": "MORA",
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
            **interval_fields("equal_weights", equal or {}), **interval_fields("default", default),
        }
    objectives = next(iter(summaries.values()))["objectives"]
    return {"objectives": objectives, "reference_point": reference, "methods": rows}


def interval_fields(prefix: str, point: Dict) -> Dict:
    """``<prefix>_rewards_interval``, ``<prefix>_true_scalarised_interval`` and ``<prefix>_ground_truth_scalarised``
    with its interval, from a point of ``pro_rl.training.evaluation`` (None where the point lacks them)."""
    return {f"{prefix}_rewards_interval": point.get("rewards_interval"),
            f"{prefix}_true_scalarised_interval": point.get("true_scalarised_interval"),
            f"{prefix}_ground_truth_scalarised": point.get("ground_truth_scalarised"),
            f"{prefix}_ground_truth_scalarised_interval": point.get("ground_truth_scalarised_interval")}


def paired_comparisons(summaries: Dict[str, Dict], level: float = 0.95, resamples: int = 1000,
                       seed: int = 0) -> List[Dict]:
    """PRO (PRO-MORLHF, PRO-WIC) against every other method, each at the point a user without weights gets
    (``default_point``), paired over the same held-out prompts: one row per pair with the ``paired_difference``
    (None when a point lacks per-prompt values) and its verdict sentence (``verdict_sentence``)."""
    rows = []
    for method in (name for name in ("pro_morlhf", "pro_wic") if name in summaries):
        for baseline in (name for name in summaries if name not in ("pro_morlhf", "pro_wic")):
            difference = paired_difference(default_point(summaries[method]), default_point(summaries[baseline]),
                                           level=level, resamples=resamples, seed=seed)
            label, baseline_label = METHOD_LABELS.get(method, method), METHOD_LABELS.get(baseline, baseline)
            rows.append({"method": method, "baseline": baseline, "difference": difference,
                         "sentence": verdict_sentence(label, baseline_label, difference) if difference else
                         f"{label} and {baseline_label}: not paired (a default point without per-prompt values)."})
    return rows


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
    save_figure(figure, path, dpi=100)
    return path


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in rows)]


def write_comparison(summaries: Dict[str, Dict], output_dir: Path, reference_point: Sequence[float],
                     level: float = 0.95, resamples: int = 1000, spread: Optional[Dict] = None,
                     world: str = "") -> Dict:
    """``report.md``, ``comparison.json`` and the plot into ``output_dir``; returns the comparison. ``level`` and
    ``resamples``: the bootstrap of the paired differences; ``spread``: the spread across seeds
    (``seed_spread_section``), reported after the tables and kept in comparison.json as "seeds"; ``world``: the toy
    world version the rewards come from (``toy_world_graded.world_version``), stated under the title and kept as
    "world", so that numbers of different versions are not mixed."""
    comparison = compare(summaries, reference_point)
    comparison["paired"] = paired_comparisons(summaries, level, resamples)
    if world:
        comparison["world"] = world
    if spread:
        comparison["seeds"] = {key: value for key, value in spread.items() if key != "lines"}
    objectives, rows = comparison["objectives"], comparison["methods"]
    with_truth = all(row["default_true_scalarised"] is not None for row in rows.values())
    with_ground_truth = all(row["default_ground_truth_scalarised"] is not None for row in rows.values())
    truth_header = ["w*-scalarised"] * with_truth + ["ground truth: w*-scalarised"] * with_ground_truth
    plot = plot_fronts(summaries, output_dir / "plots" / "pareto_fronts.png")

    def cells(row, prefix):
        rewards = row[f"{prefix}_rewards"] if prefix == "default" else row["equal_weights"] or [None] * len(objectives)
        intervals = row[f"{prefix}_rewards_interval"] or [None] * len(objectives)
        truth = [format_interval(row[f"{prefix}_true_scalarised"], row[f"{prefix}_true_scalarised_interval"])]
        ground = [format_interval(row[f"{prefix}_ground_truth_scalarised"],
                                  row[f"{prefix}_ground_truth_scalarised_interval"])]
        return [*(format_interval(v, i) for v, i in zip(rewards, intervals)),
                *([format_number(row["equal_weights_mean"])] if prefix == "equal_weights" else []),
                *truth * with_truth, *ground * with_ground_truth]

    equal = _table(["method", *objectives, "mean", *truth_header],
                   [[row["label"], *cells(row, "equal_weights")] for row in rows.values()])
    volumes = _table(["method", "evaluated as", "points", "on own front", "on joint front", "hypervolume"],
                     [[row["label"], row["evaluation"], str(row["points"]), str(row["own_front"]),
                       str(row["joint_front"]), format_number(row["hypervolume"])] for row in rows.values()])
    defaults = _table(["method", "weights", *objectives, *truth_header],
                      [[row["label"], row["default"], *cells(row, "default")] for row in rows.values()])
    lines = [
        "# Multi-objective methods compared", "", *([f"Rewards: {world}.", ""] if world else []),
        f"Mean raw reward per objective on held-out prompts; hypervolumes above the shared reference point "
        f"({', '.join(f'{r:.3g}' for r in comparison['reference_point'])}). [low, high]: {round(100 * level)} % "
        "bootstrap interval over prompts. Each method's own report is in `evaluations/<method>/report.md`.", "",
        f"![Pareto fronts]({plot.relative_to(output_dir)})", "",
        "## Equal weights", "", *equal, "",
        "## Hypervolume", "", *volumes, "",
        "## Without user weights", "",
        "What a user who gives no weights gets" + (
            "; w*-scalarised is the mean of Σ_k w*_k(x) r_k with each prompt's own ground-truth weights."
            if with_truth else "."), "",
        *defaults, "", *paired_lines(comparison["paired"]), *(spread or {}).get("lines", []),
    ]
    (output_dir / "report.md").write_text("\n".join(lines))
    (output_dir / "comparison.json").write_text(json.dumps(comparison, indent=2) + "\n")
    return comparison


def paired_lines(paired: Sequence[Dict]) -> List[str]:
    """The report's section of PRO against each baseline: a table of paired differences, then the verdicts."""
    if not paired:
        return []
    table = _table(["PRO method − baseline", "measure", "difference [low, high]"],
                   [[f"{METHOD_LABELS.get(row['method'], row['method'])} − "
                     f"{METHOD_LABELS.get(row['baseline'], row['baseline'])}",
                     row["difference"]["measure"] if row["difference"] else "—",
                     "{:+.3f} [{:+.3f}, {:+.3f}]".format(*(row["difference"][k] for k in ("mean", "low", "high")))
                     if row["difference"] else "—"] for row in paired])
    return ["## PRO against each baseline (paired over prompts)", "",
            "Each at the point a user without weights gets; per prompt PRO − baseline, bootstrapped over prompts.", "",
            *table, "", *(f"- {row['sentence']}" for row in paired), ""]


def seed_spread_section(per_seed: Sequence[Dict[str, Dict]], seeds: Sequence[int], reference_point: Sequence[float],
                        level: float = 0.95, resamples: int = 1000) -> Dict:
    """The spread across seeds (``run.seeds`` > 1; {} for one seed): per method its hypervolume (above the first
    seed's shared reference point) and its default point's w*-scalarised mean, and per PRO-vs-baseline pair the
    paired difference, each as ``seed_spread`` (mean, std, per-seed values); "lines": the report's section."""
    if len(per_seed) < 2:
        return {}
    reference = shared_reference(per_seed[0], reference_point)
    comparisons = [compare(summaries, reference) for summaries in per_seed]
    key = verdict_key(*(default_point(summary) for summaries in per_seed for summary in summaries.values()))
    methods = {}
    for method in per_seed[0]:
        values = {"hypervolume": seed_spread([c["methods"][method]["hypervolume"] for c in comparisons])}
        if key:
            values["default_scalarised"] = seed_spread([_mean(default_point(s[method])["per_prompt"][key])
                                                        for s in per_seed])
        methods[method] = values
    pairs, pair_labels = {}, {}
    for rows in zip(*(paired_comparisons(summaries, level, resamples) for summaries in per_seed)):
        if all(row["difference"] for row in rows):
            method, baseline = rows[0]["method"], rows[0]["baseline"]
            pairs[f"{method} - {baseline}"] = seed_spread([row["difference"]["mean"] for row in rows])
            pair_labels[f"{method} - {baseline}"] = \
                f"{METHOD_LABELS.get(method, method)} − {METHOD_LABELS.get(baseline, baseline)}"

    def cell(spread: Dict) -> str:
        return f"{spread['mean']:.3f} ± {spread['std']:.3f} (" + ", ".join(f"{v:.3f}" for v in spread["values"]) + ")"

    name = "w*-scalarised ground truth" if key == "ground_truth_scalarised" else "w*-scalarised"
    lines = ["## Spread across seeds", "", f"Each method's own stages ran once per seed ({', '.join(map(str, seeds))}; "
             "the SFT warm-up, orchestrator and MOSLIM classifier are shared); mean ± standard deviation over seeds "
             "(per-seed values). The tables above are the first seed's.", "",
             *_table(["method", "hypervolume", f"default point: {name}"],
                     [[METHOD_LABELS.get(m, m), cell(v["hypervolume"]),
                       cell(v["default_scalarised"]) if "default_scalarised" in v else "—"] for m, v in methods.items()])]
    if pairs:
        lines += ["", *_table(["PRO method − baseline", "paired difference per seed"],
                              [[pair_labels[pair], cell(spread)] for pair, spread in pairs.items()])]
    return {"seeds": list(seeds), "methods": methods, "paired": pairs, "lines": [*lines, ""]}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)
