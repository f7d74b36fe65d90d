"""Evaluation of an SGA policy (``evaluate.method: sga``): its front, its default point, and SGA's Table 5.

**Front.** Each weight point w of the grid steers the policy externally with the scores
``scores_from_weights(w)`` (RiC's preference-to-reward mapping over [0, 1]: s_k = 1 when w_k ≥ 1/K, else K·w_k;
see ``pro_rl.algorithms.sga_steering``). The points give the Pareto mask and hypervolume as for every method.

**Default point.** ``adaptive``: the policy senses ŝ from each prompt with its score head (snapped to
``sga.snap_grid``) and answers the prompt conditioned on it — what SGA gives a user who names no preference,
the counterpart of PRO's orchestrator point (``summary["adaptive"]``).

**Table 5 analogue** (``summary["sga"]``), for each of ``evaluate.sga_strategies``:

    adaptive      the sensed ŝ (the same responses as the default point)
    fixed_<s>     every objective's score s (SGA Table 5: 0.25, 0.5, 1.0)
    ground_truth  steering with the toy world's score targets of the ideal response for the prompt's w*
                  (``ideal_response_targets``): what a perfect head would sense

each with the mean reward per objective, the w*-scalarised reward, and the win rate against the responses of
``evaluate.baseline_policy`` (e.g. the SFT policy) to the same prompts: response i of a strategy is paired with
response i of the baseline, the higher w*-scalarised reward wins, a tie counts one half (``win_rate``). The
judge is the evaluation's ``reward_models``: on the toy world's configs these are its ground-truth reward
functions. Beside them, the head's accuracy as a preference sensor: the MSE of ŝ against the ground-truth
targets, and the argmax agreement of ŝ with w* (``argmax_agreement``, the measure the orchestrator reports) —
SGA's head against PRO's orchestrator on the same prompts.

Every strategy and the baseline sample with SGA's settings (``sga.temperature``, ``sga.top_p``; the length and
top-k of ``rollout``) and the same seed. Without w* in the held-out prompts there is no w*-scalarised reward, no win
rate and no head accuracy; ``ground_truth`` also needs the toy world's objectives: strategies that cannot run are
listed with the reason in ``summary["sga"]["skipped"]``.

Simplification: a strategy that repeats another's scores (fixed_1.0 and the equal-weight grid point, both all
ones) is generated once and reported under both names.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pro_rl.algorithms import argmax_agreement, scalarise
from pro_rl.algorithms.sga import score_mse
from pro_rl.algorithms.sga_steering import scores_from_weights, win_rate
from pro_rl.algorithms.weight_grid import weight_grid
from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ProRLConfig
from pro_rl.config.method_validation import sga_head_objectives
from pro_rl.models.builders import load_policy
from pro_rl.models.scoring import RewardScorer, default_device
from pro_rl.models.sga import load_sga_policy
from pro_rl.rollout.base import SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.rollout.sga import SGAGenerator, SGARollouts
from pro_rl.training.evaluation import PointResult, evaluation_prompts, policy_dir, summarise
from pro_rl.training.evaluation_statistics import ground_truth_known, prompt_statistics
from pro_rl.training.wic import score_matrix

logger = logging.getLogger("pro_rl.training")
FIXED_PREFIX = "fixed_"


def strategy_problem(name: str) -> Optional[str]:
    """Why ``name`` is not a strategy (adaptive, ground_truth, fixed_<s> with s in [0, 1]), or None."""
    if name in ("adaptive", "ground_truth"):
        return None
    if name.startswith(FIXED_PREFIX):
        try:
            value = float(name[len(FIXED_PREFIX):])
        except ValueError:
            value = float("nan")
        if 0.0 <= value <= 1.0:
            return None
    return f"'{name}' is not adaptive, ground_truth or fixed_<s> with s in [0, 1]"


def check_sga_evaluation(config: ProRLConfig) -> List[str]:
    """The objectives of the evaluated SGA policy's head, checked against the config before any model loads."""
    settings = config.evaluate
    for name in settings.sga_strategies:
        if strategy_problem(name):
            raise ConfigError(f"key 'evaluate.sga_strategies': {strategy_problem(name)}")
    key = "evaluate.policy" if settings.policy else "policy.model"
    try:
        objectives = sga_head_objectives(policy_dir(config))
    except ConfigError as error:
        raise ConfigError(f"key '{key}': {error}") from None
    if objectives != list(config.objectives):
        raise ConfigError(f"key '{key}': the SGA policy at {policy_dir(config)} scores {objectives}, but "
                          f"reward_models name {list(config.objectives)} (K mismatch or a different order)")
    return objectives


def sga_sampling(config: ProRLConfig) -> SamplingSettings:
    """SGA's sampling: ``sga.temperature`` and ``sga.top_p``, with ``rollout``'s top-k and max_new_tokens."""
    return SamplingSettings(temperature=float(config.sga.temperature), top_p=float(config.sga.top_p),
                            top_k=int(config.rollout.top_k), max_new_tokens=int(config.rollout.max_new_tokens))


def ideal_response_targets(true_weights: Tensor, objectives: Sequence[str]) -> Tensor:
    """(N, K) toy-world score targets (``toy_world_targets``) of the best response for each row of w* (N, K):
    among responses made of one segment of each kind in a subset of the objectives, the one with the highest
    w*-scalarised ground-truth reward (``scalarised_truth``; objectives outside ``objectives`` weigh 0)."""
    from itertools import combinations

    from pro_rl.data.sga_targets import toy_world_targets
    from pro_rl.data.toy_world import OBJECTIVES, SEGMENTS, scalarised_truth

    kinds = [list(subset) for size in range(len(objectives) + 1) for subset in combinations(objectives, size)]
    candidates = [" " + " ".join(SEGMENTS[kind][0].format(topic="bike") for kind in (subset or ["filler"]))
                  for subset in kinds]
    best = []
    for row in true_weights.tolist():
        weights = {name: 0.0 for name in OBJECTIVES} | dict(zip(objectives, row))
        best.append(max(candidates, key=lambda response: scalarised_truth(response, weights)))
    return toy_world_targets(best, objectives)


@dataclass
class StrategyResult:
    """One row of the Table-5 analogue: the scores it conditioned on (their mean over prompts), the mean reward
    per objective, the mean w*-scalarised reward and the win rate against the baseline (None where unknown)."""

    label: str
    scores: List[float]
    rewards: List[float]
    true_scalarised: Optional[float] = None
    win_rate: Optional[float] = None


class SGAEvaluator:
    """Generates and scores the held-out prompts under one scoring of the SGA policy; memoises shared scores."""

    def __init__(self, config: ProRLConfig):
        self.config = config
        self.prompts, self.truth = evaluation_prompts(config)
        self.samples = config.evaluate.samples_per_prompt
        self.toy_world = ground_truth_known(config)  # ground-truth rewards beside the reward models'
        self.scorers = [RewardScorer(spec, config.run.device) for spec in config.reward_models]
        lm, head, tokenizer = load_sga_policy(policy_dir(config), config.policy)
        self.generator = SGAGenerator(lm, head, tokenizer, sga_sampling(config), config.policy.max_prompt_length,
                                      default_device(config.run.device), int(config.sga.snap_grid))
        self._runs: Dict[object, Tuple[SGARollouts, Tensor]] = {}

    def run(self, scores: Optional[Tensor]) -> Tuple[SGARollouts, Tensor]:
        """(SGA rollouts, rewards (N·samples, K)) for per-prompt ``scores`` (N, K), or the sensed ŝ (None)."""
        key = None if scores is None else tuple(map(tuple, scores.tolist()))
        if key not in self._runs:
            result = self.generator.generate(self.prompts, self.samples, scores, seed=self.config.run.seed)
            raw_prompts = [prompt for prompt in self.prompts for _ in range(self.samples)]
            self._runs[key] = result, score_matrix(self.scorers, raw_prompts, result.rollouts.responses)
        return self._runs[key]

    def constant(self, values: Sequence[float]) -> Tensor:
        """(N, K) the same scores for every prompt."""
        return torch.tensor([list(values)] * len(self.prompts), dtype=torch.float32)

    def scalarised(self, rewards: Tensor) -> Optional[Tensor]:
        """(N·samples,) w*-scalarised rewards, or None without w*."""
        if self.truth is None:
            return None
        return scalarise(rewards.double(), self.truth.repeat_interleave(self.samples, dim=0))

    def point(self, label: str, weights: Optional[List[float]], scores: Optional[Tensor]) -> PointResult:
        result, rewards = self.run(scores)
        truth, settings = self.scalarised(rewards), self.config.evaluate
        return PointResult(label, weights, rewards.mean(dim=0).tolist(), None if truth is None else float(truth.mean()),
                           **prompt_statistics(rewards, result.rollouts.responses, self.truth, self.config.objectives,
                                               self.samples, self.toy_world, settings.interval_level,
                                               settings.bootstrap_resamples, self.config.run.seed))


def evaluate_sga(config: ProRLConfig) -> Dict[str, object]:
    """The summary of ``evaluate.method: sga``: grid points, the ``adaptive`` point and the ``sga`` table."""
    check_sga_evaluation(config)
    evaluator = SGAEvaluator(config)
    grid = [tuple(point) for point in config.evaluate.grid] or weight_grid(len(config.objectives))
    points = [evaluator.point("w=(" + ", ".join(f"{w:.2f}" for w in weights) + ")", list(weights),
                              evaluator.constant(scores_from_weights(list(weights)))) for weights in grid]
    adaptive = evaluator.point("adaptive", None, None)
    logger.info("evaluate sga adaptive: %s", [round(r, 4) for r in adaptive.rewards])
    summary = summarise(config, points, None)
    summary["adaptive"] = asdict(adaptive)
    summary["sga"] = strategy_table(config, evaluator)
    return summary


def strategy_table(config: ProRLConfig, evaluator: SGAEvaluator) -> Dict[str, object]:
    """The Table-5 analogue and the head's accuracy (see the module docstring), as plain data."""
    sensed = evaluator.run(None)[0].sensed
    baseline, baseline_row = baseline_rewards(config, evaluator)
    rows, skipped = [], {}
    for name in config.evaluate.sga_strategies:
        scores, reason = strategy_scores(name, evaluator)
        if reason:
            skipped[name] = reason
            continue
        result, rewards = evaluator.run(scores)
        truth = evaluator.scalarised(rewards)
        rate = None if truth is None or baseline is None else win_rate(truth, baseline)
        rows.append(asdict(StrategyResult(name, result.scores.mean(dim=0).tolist(), rewards.mean(dim=0).tolist(),
                                          None if truth is None else float(truth.mean()), rate)))
    return {"strategies": rows, "skipped": skipped, "baseline": baseline_row,
            "baseline_policy": config.evaluate.baseline_policy or None, "head": head_accuracy(sensed, evaluator)}


def strategy_scores(name: str, evaluator: SGAEvaluator) -> Tuple[Optional[Tensor], Optional[str]]:
    """(per-prompt scores or None for sensing, reason it cannot run or None) of one strategy."""
    if name == "adaptive":
        return None, None
    if name.startswith(FIXED_PREFIX):
        return evaluator.constant([float(name[len(FIXED_PREFIX):])] * len(evaluator.config.objectives)), None
    targets, reason = truth_targets(evaluator)
    return targets, reason


def truth_targets(evaluator: SGAEvaluator) -> Tuple[Optional[Tensor], Optional[str]]:
    """The toy world's targets for w* (N, K), or the reason there are none."""
    from pro_rl.data.toy_world import OBJECTIVES

    if evaluator.truth is None:
        return None, "the held-out prompts carry no ground-truth weights w*"
    unknown = [name for name in evaluator.config.objectives if name not in OBJECTIVES]
    if unknown:
        return None, f"objectives {unknown} are not the toy world's, so it has no targets for them"
    return ideal_response_targets(evaluator.truth, evaluator.config.objectives), None


def head_accuracy(sensed: Tensor, evaluator: SGAEvaluator) -> Dict[str, Optional[float]]:
    """MSE of ŝ against the toy world's targets for w*, and the argmax agreement of ŝ with w* (None if unknown)."""
    targets, _ = truth_targets(evaluator)
    return {"mean_sensed": sensed.mean(dim=0).tolist(),
            "mse": None if targets is None else float(score_mse(sensed, targets)),
            "argmax_agreement": None if evaluator.truth is None else argmax_agreement(sensed.double(), evaluator.truth)}


def baseline_rewards(config: ProRLConfig, evaluator: SGAEvaluator) -> Tuple[Optional[Tensor], Optional[Dict]]:
    """The baseline policy's w*-scalarised rewards (N·samples,) and its row {label, rewards, true_scalarised};
    (None, None) without ``evaluate.baseline_policy``. It answers the raw prompts, sampled like the strategies."""
    path = config.evaluate.baseline_policy
    if not path:
        return None, None
    model, tokenizer = load_policy(path, config.policy)
    engine = HFRolloutEngine(model, tokenizer, sga_sampling(config), config.policy.max_prompt_length,
                             default_device(config.run.device))
    rollouts = engine.generate(evaluator.prompts, evaluator.samples, seed=config.run.seed)
    raw_prompts = [prompt for prompt in evaluator.prompts for _ in range(evaluator.samples)]
    rewards = score_matrix(evaluator.scorers, raw_prompts, rollouts.responses)
    truth = evaluator.scalarised(rewards)
    row = {"label": "baseline", "rewards": rewards.mean(dim=0).tolist(),
           "true_scalarised": None if truth is None else float(truth.mean())}
    return truth, row
