"""The demo's held-out evaluation and its verdict: PRO-MORLHF against MORLHF on the same prompts, with intervals.

Every policy the demo trained (and the SFT policy it started from) answers the held-out prompts in an ordinary
evaluate run of ``configs/tiny/demo_evaluate.yaml`` (``evaluate.samples_per_prompt`` responses per prompt, reward
models and, on the toy world, ground-truth rewards, bootstrap intervals over prompts; ``pipelines.evaluate``), into
``<output>/evaluations/<stage>``. ``verdict_summary`` then pairs PRO-MORLHF with MORLHF prompt by prompt
(``pro_rl.training.evaluation_statistics.paired_difference``) and states the verdict in one generated sentence.

With ``run.seeds`` N > 1 the RL stages ran once per seed: the verdict pairs the per-prompt values averaged over the
seeds, and each seed's own numbers and their mean ± standard deviation show the spread across seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

import pipelines
from pipelines.evaluation_report import format_interval
from pro_rl.training.evaluation_statistics import measure_name, paired_difference, seed_spread, verdict_key, \
    verdict_sentence

METHOD, BASELINE = "PRO-MORLHF", "MORLHF"


def evaluate_policy(config_path: Path, output_dir: Path, policy: Path, overrides: Sequence[str]) -> Dict:
    """Evaluate one policy (``pipelines.evaluate``, method 'fixed') into ``output_dir``; its single point."""
    pipelines.run(config_path, [f"run.output_dir={output_dir}", "run.overwrite=true", f"evaluate.policy={policy}",
                                *overrides])
    return json.loads((output_dir / "evaluation.json").read_text())["points"][0]


def seed_average(points: Sequence[Mapping]) -> Dict:
    """A point with only ``per_prompt`` values: per prompt, the mean over ``points`` (one method trained with
    several seeds, each evaluated on the same prompts) — what ``paired_difference`` needs."""
    keys = set.intersection(*(set(point.get("per_prompt") or {}) for point in points))
    return {"per_prompt": {key: [sum(values) / len(points) for values in zip(*(p["per_prompt"][key] for p in points))]
                           for key in keys}}


def verdict_summary(runs: Mapping[str, Sequence[Mapping]], level: float = 0.95, resamples: int = 1000,
                    seed: int = 0) -> Dict:
    """The verdict of the demo from its evaluated points.

    Args:
        runs: {"pro_morlhf": [point per seed], "morlhf_uniform": [point per seed]}, points as in evaluation.json.

    Returns: {"sentence", "difference" (``paired_difference`` of the seed-averaged points, or None), "seeds":
    [{"pro_morlhf", "morlhf_uniform", "difference"} per seed: that seed's means and paired difference],
    "spread": {name: ``seed_spread``} of those per-seed numbers}.
    """
    pro, baseline = runs["pro_morlhf"], runs["morlhf_uniform"]
    key = verdict_key(*pro, *baseline)
    if key is None:
        return {"sentence": "No verdict: the held-out prompts carry no ground-truth weights w*(x) to scalarise with.",
                "difference": None, "seeds": [], "spread": {}}
    difference = paired_difference(seed_average(pro), seed_average(baseline), key, level, resamples, seed)
    per_seed = []
    for pro_point, baseline_point in zip(pro, baseline):
        values = {name: sum(p["per_prompt"][key]) / len(p["per_prompt"][key])
                  for name, p in (("pro_morlhf", pro_point), ("morlhf_uniform", baseline_point))}
        per_seed.append({**values, "difference": paired_difference(pro_point, baseline_point, key, level, resamples,
                                                                    seed)})
    spread = {name: seed_spread([row[name] for row in per_seed]) for name in ("pro_morlhf", "morlhf_uniform")}
    spread["difference"] = seed_spread([row["difference"]["mean"] for row in per_seed])
    return {"sentence": verdict_sentence(METHOD, BASELINE, difference), "key": key, "measure": measure_name(key),
            "difference": difference, "seeds": per_seed, "spread": spread}


def spread_lines(verdict: Mapping, seeds: Sequence[int]) -> List[str]:
    """Report lines of the spread across seeds (none for a single seed): each seed's means and paired difference,
    then mean ± standard deviation over seeds."""
    if len(verdict.get("seeds", [])) < 2:
        return []
    lines = ["## Spread across seeds", "",
             f"The RL stages ran once per seed; each seed's held-out means of the {verdict['measure']} and its paired "
             "difference (its own interval). The verdict above pairs the per-prompt values averaged over the seeds.",
             "", f"| seed | {METHOD} | {BASELINE} | {METHOD} − {BASELINE} |", "| --- | --- | --- | --- |"]
    for seed, row in zip(seeds, verdict["seeds"]):
        difference = row["difference"]
        lines.append(f"| {seed} | {row['pro_morlhf']:.3f} | {row['morlhf_uniform']:.3f} | {difference['mean']:+.3f} "
                     f"[{difference['low']:+.3f}, {difference['high']:+.3f}] |")
    spread = verdict["spread"]
    lines.append("| mean ± std | " + " | ".join(f"{spread[name]['mean']:.3f} ± {spread[name]['std']:.3f}"
                                               for name in ("pro_morlhf", "morlhf_uniform", "difference")) + " |")
    return [*lines, ""]


def held_out_lines(points: Mapping[str, Mapping], objectives: Sequence[str], verdict: Mapping) -> List[str]:
    """Report lines: the verdict sentence, then one table of reward-model scores and (on the toy world) one of
    ground-truth rewards, each mean with its bootstrap interval over prompts; ``points``: {row label: point}."""
    first = next(iter(points.values()))
    level = round(100 * (first.get("interval_level") or 0.95))
    lines = [f"**{verdict['sentence']}**", "",
             f"Held-out prompts: {first.get('num_prompts')} × {first.get('samples_per_prompt')} sampled responses each "
             f"(per prompt the mean of its responses, then the mean over prompts); [low, high]: {level} % bootstrap "
             "interval over prompts. w*-scalarised: each prompt's rewards weighted by its ground-truth w*(x), the "
             "quantity PRO's Theorem 5.1 says per-prompt weights should win on.", "",
             "### Reward-model scores (raw)", "",
             "| policy | " + " | ".join(objectives) + " | w*-scalarised |", "|" + " --- |" * (len(objectives) + 2)]
    for label, point in points.items():
        cells = [format_interval(v, i) for v, i in zip(point["rewards"], point.get("rewards_interval") or [])]
        lines.append(f"| {label} | " + " | ".join(cells) + " | "
                     + format_interval(point.get("true_scalarised"), point.get("true_scalarised_interval")) + " |")
    if all(point.get("ground_truth_rewards") for point in points.values()):
        lines += ["", "### Ground-truth rewards (the toy world's, same responses)", "",
                  "| policy | " + " | ".join(objectives) + " | w*-scalarised |", "|" + " --- |" * (len(objectives) + 2)]
        for label, point in points.items():
            cells = [format_interval(v, i) for v, i in zip(point["ground_truth_rewards"],
                                                            point["ground_truth_rewards_interval"])]
            lines.append(f"| {label} | " + " | ".join(cells) + " | **" + format_interval(
                point["ground_truth_scalarised"], point["ground_truth_scalarised_interval"]) + "** |")
    return [*lines, ""]
