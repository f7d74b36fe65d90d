"""The report of a MORA run (issue 13): ``report.md`` and its plots, from one summary dict the pipeline fills.

``write_report(summary, output_dir)`` writes ``report.md`` and ``plots/mora_measures.png`` (reward-dimension
variance and Pareto coverage before vs after rewriting), ``plots/mora_ablation.png`` (rewards of each training
variant, mean ± std over seeds) and ``plots/mora_scaling.png`` (one line per objective against the amount of MORA
data). The summary's keys (a "spread" is ``{"mean", "std", "values"}`` over seeds, as
``pro_rl.training.evaluation_statistics.seed_spread`` makes it):

    "run_name":      str
    "world_version": str or None — ``pro_rl.data.mora_world.MORA_WORLD_VERSION`` when the data is that world
    "objectives":    [str], the K objectives in reward-model order
    "mode":          "sequential" | "simultaneous"
    "seeds":         [int]
    "detection":     {"rule": {"statistic", "high", "low"}, "prompts": int, "detected": int,
                      "precision": float or None, "recall": float or None}  (None: no ground truth)
                     optional "study": [{"rule": {...}, "precision", "recall"}], other thresholds on the same samples
    "rewrites":      {"rewriter": "template" | "lm", "attempted": int, "kept": int,
                      "skipped": {reason: int}}  (reasons: ``pro_rl.data.mora_rewrite.REWRITE_PROBLEMS``)
                     optional "length_gap": {"mean", "max"}, the elaborations' length minus their rewrites'
    "measures":      {label: {"variance": {objective: float}, "coverage": float}} for "before" (the mined prompts
                      P) and "after" (their rewrites P'); other labels (e.g. "elaborated") are shown too;
                      optional "coverage_spread": spread of the coverage over seeds
    "pairs":         {"prompts": int, "pairs": int, "mean_margin": float}
    "headline":      {policy label: {objective: spread}}, e.g. "sft", "original prompts", "mora"
    "mora_minus_original": optional {objective | "sum": spread}, per seed MORA's mean reward minus the control's
    "by_prompt_type": optional {"single" | "multi": {policy label: {objective: spread}}}, the headline on the
                      held-out prompts that invite one objective and on those that invite several
    "ablation":      {variant label: {objective: spread}}, e.g. "mora (multi-intent)", "elaboration (equal length)"
    "scaling":       {"amounts": [int], "rewards": {objective: [float]}}, optional "std": {objective: [float]}
                      (the amount of MORA data — pairs — on the x axis)

Every key but "run_name" and "objectives" may be missing or None (a stage that did not run); its section then says
so. Numbers are printed with ``format_number``; NaN precision or recall (nothing detected) prints as "—".
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pipelines.evaluation_report import format_number
from pipelines.figures import grouped_bars, plt, save_figure

PLOTS = {"measures": "plots/mora_measures.png", "ablation": "plots/mora_ablation.png",
         "scaling": "plots/mora_scaling.png"}


def format_spread(spread: Optional[Dict]) -> str:
    """``"0.512 ± 0.031"`` (mean ± sample std over seeds), ``"—"`` when absent."""
    if not spread:
        return "—"
    return f"{format_number(spread['mean'])} ± {format_number(spread['std'])}"


def _spread_table(table: Dict[str, Dict[str, Dict]], objectives: Sequence[str], first: str) -> List[str]:
    lines = [f"| {first} | " + " | ".join(objectives) + " | sum |", "| --- |" + " --- |" * (len(objectives) + 1)]
    for label, spreads in table.items():
        total = sum(spreads[objective]["mean"] for objective in objectives) if all(
            spreads.get(objective) for objective in objectives) else None
        lines.append(f"| {label} | " + " | ".join(format_spread(spreads.get(objective)) for objective in objectives)
                     + f" | {format_number(total)} |")
    return lines


def _save(figure, output_dir: Path, name: str) -> Path:
    return save_figure(figure, output_dir / PLOTS[name])


def plot_measures(measures: Dict[str, Dict], objectives: Sequence[str], output_dir: Path) -> Path:
    """Left: reward-dimension variance per objective, one bar per label; right: Pareto coverage per label."""
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    grouped_bars(left, {label: [m["variance"][o] for o in objectives] for label, m in measures.items()}, objectives)
    left.set_title("reward-dimension variance")
    right.bar(list(measures), [m["coverage"] for m in measures.values()], color="tab:green")
    right.set_title("Pareto-coverage ratio")
    right.set_ylim(0, 1)
    right.grid(alpha=0.3, axis="y")
    return _save(figure, output_dir, "measures")


def plot_ablation(ablation: Dict[str, Dict], objectives: Sequence[str], output_dir: Path) -> Path:
    """Mean reward per objective of each variant, error bars one std over seeds."""
    figure, axis = plt.subplots(figsize=(6, 3.2))
    means = {label: [spreads[o]["mean"] for o in objectives] for label, spreads in ablation.items()}
    errors = {label: [spreads[o]["std"] for o in objectives] for label, spreads in ablation.items()}
    grouped_bars(axis, means, objectives, errors)
    axis.set_title("ablation: mean reward per objective")
    return _save(figure, output_dir, "ablation")


def plot_scaling(scaling: Dict, objectives: Sequence[str], output_dir: Path) -> Path:
    """One line per objective: mean reward against the amount of MORA data (Fig. 5)."""
    figure, axis = plt.subplots(figsize=(5, 3.2))
    for objective in objectives:
        std = (scaling.get("std") or {}).get(objective)
        axis.errorbar(scaling["amounts"], scaling["rewards"][objective], yerr=std, marker="o", capsize=3,
                      label=objective)
    axis.set_xlabel("MORA pairs")
    axis.set_ylabel("mean reward")
    axis.set_title("data scaling")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save(figure, output_dir, "scaling")


def detection_section(detection: Optional[Dict]) -> List[str]:
    if not detection:
        return ["Detection did not run."]
    rule = detection["rule"]
    lines = [f"Rule: a prompt is single-reward when only its dominant objective's {rule['statistic']} over the "
             f"samples is ≥ {format_number(rule['high'])} and every other objective's is "
             f"< {format_number(rule['low'])}. "
             f"Detected {detection['detected']} of {detection['prompts']} prompts.", ""]
    if detection.get("precision") is None and detection.get("recall") is None:
        return lines + ["The prompts carry no ground truth, so precision and recall are not given."]
    rows = [{"rule": rule, "precision": detection["precision"], "recall": detection["recall"]}]
    rows += detection.get("study") or []
    lines += ["| statistic | high | low | precision | recall |", "| --- | --- | --- | --- | --- |"]
    for row in rows:
        r = row["rule"]
        lines.append(f"| {r['statistic']} | {format_number(r['high'])} | {format_number(r['low'])} | "
                     f"{_number(row['precision'])} | {_number(row['recall'])} |")
    return lines


def _number(value: Optional[float]) -> str:
    return "—" if value is None or value != value else format_number(value)


def rewrites_section(rewrites: Optional[Dict]) -> List[str]:
    if not rewrites:
        return ["No prompt was rewritten."]
    skipped = rewrites.get("skipped") or {}
    lines = [f"Rewriter: {rewrites['rewriter']}. Kept {rewrites['kept']} of {rewrites['attempted']} rewrites; "
             f"skipped {sum(skipped.values())} (never trained on).", "", "| skipped because | rewrites |",
             "| --- | --- |"]
    lines += [f"| {reason} | {count} |" for reason, count in skipped.items()]
    gap = rewrites.get("length_gap")
    if gap:
        lines += ["", f"Equal length: an elaboration's length minus its rewrite's is {format_number(gap['mean'])} on "
                  f"average, at most {format_number(gap['max'])}."]
    return lines


def measures_section(measures: Optional[Dict], objectives: Sequence[str], output_dir: Path) -> List[str]:
    if not measures:
        return ["The before/after measures were not computed."]
    plot = plot_measures(measures, objectives, output_dir)
    lines = ["| prompts | " + " | ".join(f"variance {o}" for o in objectives) + " | Pareto coverage |",
             "| --- |" + " --- |" * (len(objectives) + 1)]
    for label, m in measures.items():
        coverage = format_spread(m["coverage_spread"]) if m.get("coverage_spread") else format_number(m["coverage"])
        lines.append(f"| {label} | " + " | ".join(format_number(m["variance"][o]) for o in objectives)
                     + f" | {coverage} |")
    return lines + ["", "Variance: the within-prompt variance of each objective's scores over the samples, averaged "
                    "over prompts. Pareto coverage: the share of the attainable reward box that a prompt's samples "
                    "dominate, averaged over prompts (`pro_rl.algorithms.mora`).", "",
                    f"![before and after rewriting]({plot.relative_to(output_dir)})"]


def results_section(summary: Dict, objectives: Sequence[str], output_dir: Path) -> List[str]:
    seeds = summary.get("seeds") or []
    lines = ["## Headline", ""]
    if summary.get("headline"):
        lines += [f"Mean reward per objective on the held-out prompts, mean ± std over {len(seeds)} seed(s) "
                  f"{seeds}.", ""] + _spread_table(summary["headline"], objectives, "policy")
    else:
        lines.append("No policy was evaluated.")
    if summary.get("mora_minus_original"):
        differences = summary["mora_minus_original"]
        lines += ["", "MORA minus the control (the same pairs on the original prompts), paired per seed:", "",
                  "| | " + " | ".join(differences) + " |", "| --- |" + " --- |" * len(differences),
                  "| difference | " + " | ".join(format_spread(spread) for spread in differences.values()) + " |"]
    for kind, table in (summary.get("by_prompt_type") or {}).items():
        if table:
            lines += ["", f"On the held-out prompts that invite {'one objective' if kind == 'single' else 'several'}:",
                      ""] + _spread_table(table, objectives, "policy")
    lines += ["", "## Ablation: multi-intent rewrites against single-objective elaborations of equal length", ""]
    if summary.get("ablation"):
        plot = plot_ablation(summary["ablation"], objectives, output_dir)
        lines += _spread_table(summary["ablation"], objectives, "variant")
        lines += ["", f"![ablation]({plot.relative_to(output_dir)})"]
    else:
        lines.append("The ablation did not run.")
    lines += ["", "## Data scaling", ""]
    scaling = summary.get("scaling")
    if scaling and scaling.get("amounts"):
        plot = plot_scaling(scaling, objectives, output_dir)
        lines += ["| MORA pairs | " + " | ".join(objectives) + " |", "| --- |" + " --- |" * len(objectives)]
        for index, amount in enumerate(scaling["amounts"]):
            lines.append(f"| {amount} | " + " | ".join(format_number(scaling["rewards"][o][index]) for o in objectives)
                         + " |")
        lines += ["", f"![data scaling]({plot.relative_to(output_dir)})"]
    else:
        lines.append("The data-scaling runs did not run.")
    return lines


def write_report(summary: Dict, output_dir: str | Path) -> Path:
    """Write ``output_dir/report.md`` and its plots from ``summary`` (keys in the module docstring); returns the
    report's path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    objectives = list(summary["objectives"])
    world = summary.get("world_version")
    pairs = summary.get("pairs")
    lines = [f"# MORA — {summary['run_name']}", "",
             f"Objectives {', '.join(objectives)}; DPO mode {summary.get('mode') or '—'}; seeds "
             f"{summary.get('seeds') or '—'}; data: " + (f"the capped MORA world, version `{world}`." if world
                                                        else "not the MORA world (no ground truth)."), "",
             "## Single-reward detection", "", *detection_section(summary.get("detection")), "",
             "## Rewriting", "", *rewrites_section(summary.get("rewrites")), "",
             "## Before and after rewriting", "", *measures_section(summary.get("measures"), objectives, output_dir),
             "", "## Max-margin pairs", "",
             (f"{pairs['pairs']} pairs from {pairs['prompts']} prompts (a prompt whose samples all tie gives none); "
              f"mean margin {format_number(pairs['mean_margin'])}." if pairs else "No pairs were built."), "",
             *results_section(summary, objectives, output_dir), ""]
    path = output_dir / "report.md"
    path.write_text("\n".join(lines))
    return path
