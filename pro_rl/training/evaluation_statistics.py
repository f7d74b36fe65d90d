"""Honest held-out numbers: per-prompt means, bootstrap intervals over prompts, ground-truth toy rewards, paired
differences between methods, the verdict sentence, and the spread across seeds.

Every mean an evaluation reports is a mean over N held-out prompts of each prompt's own mean over its S sampled
responses; its 95 % interval is the percentile bootstrap over prompts (``pro_rl.algorithms.intervals``), so the
samples of one prompt are never treated as independent. Two methods evaluated on the same prompts compare by the
paired difference: per prompt, method − baseline, bootstrapped over prompts (``paired_difference_interval``).

Ground truth: when the held-out prompts are the toy world's (every row's weights are one of the toy world's category
weight vectors w*(x), ``pro_rl.data.toy_world``), each response also gets its ground-truth rewards
(``objective_rewards``) beside the reward-model scores; the w*-scalarised ground-truth reward Σ_k w*_k(x) r*_k(x, y)
is then the number a verdict is stated on. Otherwise only the reward models' scores are reported.
"""

from __future__ import annotations

import statistics
from typing import Dict, List, Mapping, Optional, Sequence

import torch
from torch import Tensor

from pro_rl.algorithms import scalarise
from pro_rl.algorithms.intervals import bootstrap_mean_interval, paired_difference_interval

GROUND_TRUTH_MEASURE = "w*-scalarised ground-truth reward"
REWARD_MODEL_MEASURE = "w*-scalarised reward-model score"


def is_toy_world(weights: Sequence[Mapping[str, float]], objectives: Sequence[str]) -> bool:
    """Whether held-out rows with these ground-truth weights are the toy world's: every objective is one of the toy
    world's, and every row's weights are one of its categories' w*(x)."""
    from pro_rl.data import toy_world

    if not weights or not set(objectives) <= set(toy_world.OBJECTIVES):
        return False
    known = [toy_world.true_weights(category) for category in toy_world.CATEGORIES]
    return all(any(all(abs(float((row or {}).get(name, -1.0)) - truth[name]) <= 1e-6 for name in toy_world.OBJECTIVES)
                   for truth in known) for row in weights)


def ground_truth_known(config) -> bool:
    """Whether the held-out prompts an evaluation reads (``data.eval_prompts``, the first ``evaluate.num_prompts``)
    are the toy world's (``is_toy_world``)."""
    from pro_rl.data.canonical import data_limits, load_prompts

    rows = load_prompts(config.data.eval_prompts, **data_limits(config.data))
    rows = rows.select(range(min(config.evaluate.num_prompts or len(rows), len(rows))))
    return "weights" in rows.column_names and is_toy_world(rows["weights"], config.objectives)


def ground_truth_rewards(responses: Sequence[str], objectives: Sequence[str]) -> Tensor:
    """(M, K) float64 toy-world ground-truth rewards of the responses (``toy_world.objective_rewards``), objective
    order."""
    from pro_rl.data.toy_world import objective_rewards

    rows = [objective_rewards(response) for response in responses]
    return torch.tensor([[row[name] for name in objectives] for row in rows], dtype=torch.float64).reshape(-1, len(objectives))


def per_prompt(per_response: Tensor, samples: int) -> Tensor:
    """(N·S, ...) values of S consecutive responses per prompt → (N, ...) per-prompt means (float64)."""
    return per_response.to(torch.float64).reshape(-1, samples, *per_response.shape[1:]).mean(dim=1)


def interval(values: Tensor, level: float, resamples: int, seed: int) -> List:
    """[low, high] (or one [low, high] per column of an (N, D) input) of the mean of per-prompt ``values``."""
    _, low, high = bootstrap_mean_interval(values, level, resamples, seed)
    return [float(low), float(high)] if values.dim() == 1 else [[float(a), float(b)] for a, b in zip(low, high)]


def prompt_statistics(rewards: Tensor, responses: Sequence[str], truth: Optional[Tensor], objectives: Sequence[str],
                      samples: int, toy_world: bool, level: float = 0.95, resamples: int = 1000,
                      seed: int = 0) -> Dict[str, object]:
    """The interval fields of one evaluated point (``pro_rl.training.evaluation.PointResult``).

    Args:
        rewards: (N·S, K) reward-model scores, S consecutive rows per prompt; responses: the N·S responses.
        truth: (N, K) w*(x) or None; toy_world: whether to add the toy world's ground-truth rewards.

    Returns: ``rewards_interval`` (K × [low, high]), ``true_scalarised_interval``, ``ground_truth_rewards`` (K
    means), ``ground_truth_rewards_interval``, ``ground_truth_scalarised`` and its interval (None where unknown),
    and ``per_prompt``: the N per-prompt w*-scalarised values by measure, for paired differences; on the toy world
    also each objective's ground-truth reward (``ground_truth/<objective>``) and the share of the prompt's responses
    that are the answer its category wants (``appropriate``, ``appropriate_answers``), per prompt.
    """
    bootstrap = {"level": level, "resamples": resamples, "seed": seed}
    result: Dict[str, object] = {"num_prompts": rewards.shape[0] // samples, "samples_per_prompt": samples,
                                 "interval_level": level,
                                 "rewards_interval": interval(per_prompt(rewards, samples), **bootstrap),
                                 "true_scalarised_interval": None, "ground_truth_rewards": None,
                                 "ground_truth_rewards_interval": None, "ground_truth_scalarised": None,
                                 "ground_truth_scalarised_interval": None, "per_prompt": {}}
    if truth is None:
        return result
    weights = truth.to(torch.float64).repeat_interleave(samples, dim=0)
    scalarised = per_prompt(scalarise(rewards.to(torch.float64), weights), samples)
    result["true_scalarised_interval"] = interval(scalarised, **bootstrap)
    result["per_prompt"] = {"true_scalarised": scalarised.tolist()}
    if toy_world:
        true_rewards = ground_truth_rewards(responses, objectives)
        by_prompt = per_prompt(true_rewards, samples)
        true_scalarised = per_prompt(scalarise(true_rewards, weights), samples)
        result.update(ground_truth_rewards=by_prompt.mean(dim=0).tolist(),
                      ground_truth_rewards_interval=interval(by_prompt, **bootstrap),
                      ground_truth_scalarised=float(true_scalarised.mean()),
                      ground_truth_scalarised_interval=interval(true_scalarised, **bootstrap))
        result["per_prompt"]["ground_truth_scalarised"] = true_scalarised.tolist()
        result["per_prompt"].update({f"ground_truth/{name}": by_prompt[:, k].tolist() for k, name in enumerate(objectives)})
        main = [objectives[k] for k in truth.argmax(dim=1).repeat_interleave(samples).tolist()]
        result["per_prompt"]["appropriate"] = per_prompt(appropriate_answers(responses, main), samples).tolist()
    return result


def appropriate_answers(responses: Sequence[str], wanted: Sequence[str]) -> Tensor:
    """(M,) float64: 1 where a toy-world response carries the segment of the objective its prompt's category wants
    (``wanted``, one per response) and no other objective's segment — the answer that category asks for."""
    from pro_rl.data.toy_world import segment_kinds

    return torch.tensor([float(segment_kinds(response) == [name]) for response, name in zip(responses, wanted)],
                        dtype=torch.float64)


def verdict_key(*points: Mapping) -> Optional[str]:
    """The per-prompt measure every point carries: ``ground_truth_scalarised`` when known, else
    ``true_scalarised`` (reward-model scores under w*), else None."""
    for key in ("ground_truth_scalarised", "true_scalarised"):
        if all(key in (point.get("per_prompt") or {}) for point in points):
            return key
    return None


def measure_name(key: str) -> str:
    return GROUND_TRUTH_MEASURE if key == "ground_truth_scalarised" else REWARD_MODEL_MEASURE


def paired_difference(point: Mapping, baseline: Mapping, key: Optional[str] = None, level: float = 0.95,
                      resamples: int = 1000, seed: int = 0) -> Optional[Dict[str, object]]:
    """The paired difference point − baseline of one per-prompt measure (``verdict_key`` when ``key`` is None):
    {"key", "measure", "mean", "low", "high", "level", "num_prompts"}, or None when the two points lack a shared
    measure or were not evaluated on the same number of prompts."""
    key = key or verdict_key(point, baseline)
    if key is None:
        return None
    values, reference = (torch.tensor(p["per_prompt"][key], dtype=torch.float64) for p in (point, baseline))
    if values.shape != reference.shape or values.numel() == 0:
        return None
    mean, low, high = paired_difference_interval(values, reference, level, resamples, seed)
    return {"key": key, "measure": measure_name(key), "mean": float(mean), "low": float(low), "high": float(high),
            "level": level, "num_prompts": int(values.numel())}


def verdict_sentence(method: str, baseline: str, difference: Mapping) -> str:
    """One sentence stating what the interval of ``difference`` (``paired_difference``) supports: ahead (the whole
    interval above 0), behind (below 0), or no significant difference. The interval is judged as printed, at three
    decimals, so the sentence never contradicts its own numbers (a lower bound of 0.0004 reads 0.000: not ahead)."""
    mean, low, high = (round(difference[key], 3) + 0.0 for key in ("mean", "low", "high"))  # never "-0.000"
    basis = (f"on the {difference['measure']} ({round(100 * difference['level'])} % bootstrap interval, paired over "
             f"{difference['num_prompts']} held-out prompts)")
    if low > 0:
        return f"{method} is ahead of {baseline} by {mean:.3f} [{low:.3f}, {high:.3f}] {basis}."
    if high < 0:
        return f"{method} is behind {baseline} by {-mean:.3f} [{-high:.3f}, {-low:.3f}] {basis}."
    return f"{method} and {baseline}: no significant difference ({mean:+.3f} [{low:+.3f}, {high:+.3f}]) {basis}."


def seed_suffix(index: int, seed: int) -> str:
    """The name suffix of a stage repeated for ``run.seeds``: none for the first seed (index 0), whose stages keep
    their names, ``_seed<seed>`` for the others."""
    return f"_seed{seed}" if index else ""


def seed_spread(values: Sequence[float]) -> Dict[str, object]:
    """{"mean", "std", "values"} of one number measured once per seed; std is the sample standard deviation
    (n − 1), 0 for a single seed."""
    values = [float(v) for v in values]
    return {"mean": statistics.fmean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0,
            "values": values}
