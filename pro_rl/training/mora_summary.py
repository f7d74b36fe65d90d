"""The summary of a MORA run: the stages' values gathered into the dict ``pipelines.mora_report.write_report`` reads
(its keys are documented there), plus two sections of our own that the summary JSON keeps:

    "by_prompt_type": {"single" | "multi": {policy label: {objective: spread}}} — the headline on the held-out
                      prompts that invite one objective and on those that invite several (ground truth needed)
    "mora_minus_original": {objective | "sum": spread} — per seed, the MORA policy's mean reward minus the control's
                      (pairs on the mined prompts as they are), the paired difference the headline rests on

A "spread" is ``{"mean", "std", "values"}`` over seeds (``evaluation_statistics.seed_spread``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from pro_rl.algorithms.mora import detection_scores, prompt_statistics, single_reward_mask
from pro_rl.config.schema import ProRLConfig
from pro_rl.data.canonical import read_jsonl
from pro_rl.training.evaluation_statistics import seed_spread
from pro_rl.training.mora_data import MoraInputs
from pro_rl.training.mora_mining import reward_matrix

POLICY_LABELS = {"warm": "warm-up (SFT)", "original": "original prompts (control)", "mora": "mora",
                 "elaboration": "elaboration (ablation)"}
ABLATION_LABELS = {"mora": "mora (multi-intent)", "elaboration": "elaboration (equal length)"}
MEASURE_LABELS = {"original": "before", "mora": "after", "elaboration": "elaborated"}
STUDY_RULES = [("max", 0.3, 0.3), ("max", 0.5, 0.5), ("max", 0.9, 0.9), ("mean", 0.1, 0.1), ("mean", 0.3, 0.3)]


def finite(value: Optional[float]) -> Optional[float]:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def detection_section(config: ProRLConfig, detection: Dict, inputs: MoraInputs, presample_dir: Path) -> Dict:
    """The rule, the counts, precision/recall, and (with ground truth) the same on ``STUDY_RULES``."""
    mora = config.mora
    section = {"rule": {"statistic": mora.detect_statistic, "high": mora.detect_high, "low": mora.detect_low},
               "prompts": detection["prompts"], "detected": detection["mined"],
               "precision": finite(detection.get("precision")), "recall": finite(detection.get("recall"))}
    if inputs.single_truth is None:
        return section
    statistics = prompt_statistics(reward_matrix(read_jsonl(presample_dir / "rollouts.jsonl")), mora.samples_per_prompt)
    truth = torch.tensor(inputs.single_truth, dtype=torch.bool)
    study = []
    for statistic, high, low in STUDY_RULES:
        if (statistic, high, low) == (mora.detect_statistic, mora.detect_high, mora.detect_low):
            continue
        scores = detection_scores(single_reward_mask(getattr(statistics, statistic), high, low)[0], truth)
        study.append({"rule": {"statistic": statistic, "high": high, "low": low},
                      "precision": finite(scores["precision"]), "recall": finite(scores["recall"])})
    return {**section, "study": study}


def reward_spreads(evaluations: Sequence[Dict], objectives: Sequence[str], prefix: str = "") -> Dict[str, Dict]:
    """{objective: spread over seeds} of ``<prefix>reward/<objective>/mean`` (objectives missing are left out)."""
    return {name: seed_spread([values[f"{prefix}reward/{name}/mean"] for values in evaluations])
            for name in objectives if all(f"{prefix}reward/{name}/mean" in values for values in evaluations)}


def policy_table(per_seed: Sequence[Dict], labels: Dict[str, str], objectives: Sequence[str],
                 prefix: str = "") -> Dict[str, Dict]:
    """{label: {objective: spread}} of the policies in ``labels`` that were evaluated."""
    table = {}
    for key, label in labels.items():
        if all(key in seed["evaluations"] for seed in per_seed):
            table[label] = reward_spreads([seed["evaluations"][key] for seed in per_seed], objectives, prefix)
    return {label: spreads for label, spreads in table.items() if spreads}


def measures_section(per_seed: Sequence[Dict], objectives: Sequence[str]) -> Dict[str, Dict]:
    """Before (P) / after (P') / elaborated: per-objective variance and coverage of the self-play samples, the mean
    over seeds."""
    measures = {}
    for arm, label in MEASURE_LABELS.items():
        if f"{arm}/coverage" not in per_seed[0]["selfplay"]:
            continue
        spread = {key: seed_spread([seed["selfplay"][f"{arm}/{key}"] for seed in per_seed])
                  for key in ["coverage", *(f"variance/{name}" for name in objectives)]}
        measures[label] = {"variance": {name: spread[f"variance/{name}"]["mean"] for name in objectives},
                           "coverage": spread["coverage"]["mean"], "coverage_spread": spread["coverage"],
                           "variance_spread": {name: spread[f"variance/{name}"] for name in objectives}}
    return measures


def differences(per_seed: Sequence[Dict], objectives: Sequence[str]) -> Dict[str, Dict]:
    """Per seed, MORA's mean reward minus the control's, per objective and summed."""
    if not all("original" in seed["evaluations"] for seed in per_seed):
        return {}
    gaps = {name: [seed["evaluations"]["mora"][f"reward/{name}/mean"]
                   - seed["evaluations"]["original"][f"reward/{name}/mean"] for seed in per_seed]
            for name in objectives}
    gaps["sum"] = [sum(gaps[name][index] for name in objectives) for index in range(len(per_seed))]
    return {name: seed_spread(values) for name, values in gaps.items()}


def scaling_section(per_seed: Sequence[Dict], scaling: Sequence[Dict], objectives: Sequence[str]) -> Optional[Dict]:
    """The curve of the first seed over its number of MORA pairs: 0 (the warm-up policy; with ``mora.with_original``
    the control), each fraction, all of them (the MORA arm)."""
    if not scaling:
        return None
    first = per_seed[0]
    points = [(0, first["evaluations"][first.get("scaling_base", "warm")])] + [(point["pairs"], point["evaluation"]) for point in scaling] \
        + [(first["pair_rows"], first["evaluations"]["mora"])]
    return {"amounts": [amount for amount, _ in points],
            "rewards": {name: [values[f"reward/{name}/mean"] for _, values in points] for name in objectives}}


def mora_summary(config: ProRLConfig, inputs: MoraInputs, detection: Dict, rewriting: Dict, per_seed: List[Dict],
                 scaling: List[Dict], presample_dir: Path) -> Dict[str, object]:
    """The summary dict of ``pipelines.mora_report`` (and of ``mora_summary.json``)."""
    objectives = config.objectives
    pair_values = per_seed[0]["pairs"]
    margins = [value for key, value in pair_values.items() if key.startswith("mora/margin/")]
    skipped = {f"{'rewrite' if key.startswith('mora/') else 'elaboration'}: {key.split('/', 1)[1]}": count
               for key, count in rewriting["skipped"].items()}
    summary = {
        "run_name": config.run.name, "world_version": inputs.world.get("version"), "objectives": list(objectives),
        "mode": config.mora.mode, "seeds": [seed["seed"] for seed in per_seed],
        "detection": detection_section(config, detection, inputs, presample_dir),
        "rewrites": {"rewriter": config.mora.rewriter, "attempted": rewriting["mined"], "kept": rewriting["kept"],
                     "skipped": skipped, "length_gap": {"mean": rewriting["length_gap/mean"],
                                                        "max": rewriting["length_gap/max"]}},
        "measures": measures_section(per_seed, objectives),
        "pairs": {"prompts": rewriting["kept"], "pairs": per_seed[0]["pair_rows"],
                  "mean_margin": sum(margins) / len(margins) if margins else 0.0},
        "headline": policy_table(per_seed, {key: POLICY_LABELS[key] for key in ("warm", "original", "mora")},
                                 objectives),
        "ablation": policy_table(per_seed, ABLATION_LABELS, objectives) if "elaboration" in config.mora.arms else None,
        "scaling": scaling_section(per_seed, scaling, objectives),
        "mora_minus_original": differences(per_seed, objectives),
    }
    if inputs.eval_single_truth is not None:
        summary["by_prompt_type"] = {kind: policy_table(per_seed, POLICY_LABELS, objectives, f"{kind}/")
                                     for kind in ("single", "multi")}
    return summary


def summary_metrics(summary: Dict[str, object]) -> Dict[str, float]:
    """The headline means as flat metrics: ``mora/<policy label>/<objective>/mean`` and the coverage measures."""
    values = {f"mora/{label}/{name}/mean": spread["mean"] for label, spreads in (summary["headline"] or {}).items()
              for name, spread in spreads.items()}
    values.update({f"mora/coverage/{label}": measure["coverage"]
                   for label, measure in (summary["measures"] or {}).items()})
    return values
