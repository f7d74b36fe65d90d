"""Test-time evaluation over a preference-weight grid (RiC's protocol, PRO §6 Figure 2 and Tables 1–4).

For each weight point w of the grid (``weight_grid``; or ``evaluate.grid``) the policy answers the held-out prompts
conditioned on w, and the raw (un-normalised) reward scores are averaged per objective: one point of the front.
How w reaches the policy depends on ``evaluate.method``:

    wic    weight tags appended to the prompt (``wic_prompt``), as PRO-WIC was trained
    ric    w mapped to target scores with RiC's preference-to-reward mapping (``ric_targets_from_weights``) over the
           offline z-score range, then score tags (``ric_prompt``)
    soups  Rewarded Soups: the policy is θ(w) = Σ_k w_k θ_k of the single-objective policies (``interpolate_state_dicts``)
    fixed  the policy as it is, without tags (e.g. a PRO-MORLHF policy): a single point, labelled "fixed"
    moslim MOSLIM tags ``<objective n>`` as a prefix of the user's text (``moslim_prompt``), w mapped to intensity
           classes by ``moslim_targets_from_weights`` (``pro_rl.training.moslim_tags``)
    sga    an SGA policy steered with the scores ``scores_from_weights(w)``, plus its sensed "adaptive" point and the
           Table-5 analogue of its inference strategies (``pro_rl.training.sga_evaluation``)

When ``orchestrator.path`` is set (and the method is wic or ric), one more point uses the orchestrator's per-prompt
default weights f(x) — PRO's answer to a user who gives no weights. The grid's points then give the Pareto mask and
the hypervolume above ``evaluate.reference_point`` (empty: the component-wise minimum of the points minus 1).

When the held-out prompts carry ground-truth weights w*(x) (the toy world's ``eval_prompts``), every point also
reports ``true_scalarised``, the mean of Σ_k w*_k(x) r_k(x, y): how well the responses serve each prompt's own
preference, the quantity PRO's per-prompt weights aim at. Every mean comes with its bootstrap interval over prompts
(``evaluate.interval_level``), and on the toy world's prompts with the ground-truth rewards beside the reward models'
scores (``pro_rl.training.evaluation_statistics``).

MOSLIM's weights → tags rule (``moslim_targets_from_weights``; n_k intensity classes of objective k, from the heads
of ``moslim.reward_model``, else ``moslim.levels``, else the toy world's ``MOSLIM_LEVELS``): an objective with weight
0 is left untagged (eq. 11 masks it: the policy was never asked about it), and every other objective gets the class
n_k(w) = 1 + round_half_up((n_k − 1) · w_k / max_j w_j), its weight relative to the largest one. So the most-weighted
objective always asks for the top class, equal weights ask for every objective at its top class (like MOSLIM Fig. 6's
``<harmless max><helpfulness max>``), and a small weight asks for a low class (class 1: the objective absent, in the
toy world). Examples with n = (3, 2, 3): w = (1, 0, 0) → ``<helpful 3>``; (0.7, 0.15, 0.15) → ``<helpful 3><harmless
1><humor 1>``; (0.5, 0.25, 0.25) → ``<helpful 3><harmless 2><humor 2>``. With ``evaluate.untagged_point`` one more point
is the prompts as they are, without tags: what MOSLIM gives a user who names no preference (``untagged`` in
evaluation.json and report.md, MOSLIM's default point in a comparison).

Generation uses the ``rollout`` section (RiC evaluates with T 0.7, top-p 0.9, 128 new tokens) and the same seed
for every point, so that differences between points come from the conditioning, not from the sampling noise.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from pro_rl.algorithms import hypervolume, pareto_mask, scalarise
from pro_rl.algorithms.weight_grid import equal_weights, weight_grid
from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ProRLConfig
from pro_rl.data.canonical import data_limits, load_prompts
from pro_rl.models.prompt_rendering import render_prompts
from pro_rl.models.scoring import OrchestratorPredictor
from pro_rl.rollout.generator import Generator, LocalGenerator
from pro_rl.training.evaluation_statistics import ground_truth_known, prompt_statistics
from pro_rl.training.moslim_tags import moslim_conditioner, moslim_policy_levels
from pro_rl.training.wic import CONDITIONING_FILE, Conditioning

logger = logging.getLogger("pro_rl.training")

METHODS = ("wic", "ric", "soups", "fixed", "moslim")
METHODS += ("sga",)  # SGA: scores from weights, the sensed "adaptive" point, Table 5 (pro_rl.training.sga_evaluation)
PromptConditioner = Callable[[str, Sequence[float]], str]
GeneratorFactory = Callable[[ProRLConfig, str], Generator]  # (config, policy path) → a generator


@dataclass
class PointResult:
    """One evaluated point: its label, the weights it was conditioned on (mean weights for the orchestrator point,
    None for 'fixed'), the mean raw reward per objective and, when the prompts carry w*(x), the mean w*-scalarised
    reward; then the bootstrap intervals over prompts of those means, the toy world's ground-truth rewards when the
    prompts are the toy world's, and the per-prompt w*-scalarised values that paired differences need (None / empty
    where unknown)."""

    label: str
    weights: Optional[List[float]]
    rewards: List[float]
    true_scalarised: Optional[float] = None
    # intervals over prompts, ground truth and per-prompt values (``evaluation_statistics.prompt_statistics``)
    num_prompts: Optional[int] = None
    samples_per_prompt: Optional[int] = None
    interval_level: Optional[float] = None
    rewards_interval: Optional[List[List[float]]] = None
    true_scalarised_interval: Optional[List[float]] = None
    ground_truth_rewards: Optional[List[float]] = None
    ground_truth_rewards_interval: Optional[List[List[float]]] = None
    ground_truth_scalarised: Optional[float] = None
    ground_truth_scalarised_interval: Optional[List[float]] = None
    per_prompt: Dict[str, List[float]] = field(default_factory=dict)


def check_evaluate_config(config: ProRLConfig) -> None:
    """The values of the ``evaluate`` section the types cannot check."""
    settings, names = config.evaluate, config.objectives
    if settings.method not in METHODS:
        raise ConfigError(f"key 'evaluate.method': '{settings.method}' is not one of {', '.join(METHODS)}")
    if not names:
        raise ConfigError("key 'reward_models': evaluation needs at least one reward model or function")
    if not config.data.eval_prompts:
        raise ConfigError("key 'data.eval_prompts': empty; evaluation generates for held-out prompts")
    if settings.method == "moslim":
        moslim_policy_levels(config)
    if settings.method == "sga":
        from pro_rl.training.sga_evaluation import check_sga_evaluation

        check_sga_evaluation(config)
    if settings.method == "soups" and len(settings.soup_policies) != len(names):
        raise ConfigError(f"key 'evaluate.soup_policies': needs one policy per objective {names}, "
                          f"got {len(settings.soup_policies)}")
    if settings.reference_point and len(settings.reference_point) != len(names):
        raise ConfigError(f"key 'evaluate.reference_point': has {len(settings.reference_point)} entries for "
                          f"{len(names)} objectives")
    for index, point in enumerate(settings.grid):
        if len(point) != len(names) or any(w < 0 for w in point) or abs(sum(point) - 1) > 1e-6:
            raise ConfigError(f"key 'evaluate.grid.{index}': {list(point)} is not a point of the {len(names)}-simplex")
    if settings.num_prompts < 0 or settings.samples_per_prompt < 1:
        raise ConfigError("key 'evaluate': num_prompts must be >= 0 and samples_per_prompt >= 1")


def evaluation_prompts(config: ProRLConfig) -> Tuple[List[str], Optional[torch.Tensor]]:
    """The first ``evaluate.num_prompts`` held-out prompts (all when 0), rendered as text, and their (N, K)
    ground-truth weights in objective order when every row names a weight for every objective (else None)."""
    rows = load_prompts(config.data.eval_prompts, **data_limits(config.data))
    count = config.evaluate.num_prompts or len(rows)
    rows = rows.select(range(min(count, len(rows))))
    prompts = render_prompts(config, rows["prompt"])
    truth = rows["weights"] if "weights" in rows.column_names else None
    if truth is None or any(not row or any(row.get(name) is None for name in config.objectives) for row in truth):
        return prompts, None
    return prompts, torch.tensor([[row[name] for name in config.objectives] for row in truth], dtype=torch.float64)


def policy_dir(config: ProRLConfig) -> str:
    return config.evaluate.policy or config.policy.model


def prompt_conditioner(config: ProRLConfig) -> PromptConditioner:
    """(prompt, weights) → the text the policy reads, for ``evaluate.method``."""
    method = config.evaluate.method
    if method == "moslim":
        return moslim_conditioner(config.objectives, moslim_policy_levels(config))
    if method in ("soups", "fixed"):
        return lambda prompt, weights: prompt
    conditioning = Conditioning.load(Path(policy_dir(config)) / CONDITIONING_FILE)
    if conditioning.method != method:
        raise ConfigError(f"key 'evaluate.method': '{method}', but the policy was trained with '{conditioning.method}' tags")
    if conditioning.objectives != config.objectives:
        raise ConfigError(f"key 'reward_models': objectives {config.objectives} differ from the policy's tag order "
                          f"{conditioning.objectives}")
    return conditioning.prompt_for_weights


def scored_responses(generator: Generator, prompts: Sequence[str], conditioned: Sequence[str], samples: int,
                     seed: int) -> Tuple[torch.Tensor, List[str]]:
    """(N * samples, K) raw rewards of the responses to ``conditioned``, scored against the raw ``prompts``, and the
    responses themselves (``samples`` consecutive ones per prompt)."""
    rollouts = generator.generate(conditioned, samples, seed=seed)
    raw_prompts = [prompt for prompt in prompts for _ in range(samples)]
    return generator.score(raw_prompts, rollouts.responses), list(rollouts.responses)


def evaluate_weight_grid(config: ProRLConfig, make_generator: GeneratorFactory = LocalGenerator) -> Dict[str, object]:
    """Generate and score at every grid point (and the orchestrator's point); see the module docstring.
    ``make_generator(config, policy_path)``: where the samples and scores come from (``pro_rl.rollout.generator``;
    the pipelines pass ``pipelines.generation.make_generator``, the run's rollout engines and reward actors)."""
    check_evaluate_config(config)
    if config.evaluate.method == "sga":  # its own generator: sensing and score conditioning from one prefill
        from pro_rl.training.sga_evaluation import evaluate_sga

        return evaluate_sga(config)
    settings = config.evaluate
    prompts, truth = evaluation_prompts(config)
    condition = prompt_conditioner(config)
    first_policy = settings.soup_policies[0] if settings.method == "soups" else policy_dir(config)
    with closing(make_generator(config, first_policy)) as generator:
        return evaluate_points(config, generator, prompts, truth, condition)


def evaluate_points(config: ProRLConfig, generator: Generator, prompts: List[str], truth: Optional[torch.Tensor],
                    condition: PromptConditioner) -> Dict[str, object]:
    """``evaluate_weight_grid``'s points, sampled and scored by ``generator``; ``samples``: every response with its
    point, prompt (its index among the held-out prompts, and as the policy read it: rendered and conditioned) and raw
    reward-model scores (``samples.jsonl`` of the run)."""
    settings, num_objectives = config.evaluate, len(config.objectives)
    soups = list(settings.soup_policies) if settings.method == "soups" else []
    grid = [tuple(point) for point in settings.grid] or weight_grid(num_objectives)
    if settings.method == "fixed":
        grid = [equal_weights(num_objectives)]

    toy_world = ground_truth_known(config)
    samples: List[Dict[str, object]] = []  # every response, for samples.jsonl

    def point(label: str, weights: Optional[List[float]], weights_per_prompt: Sequence[Sequence[float]]) -> PointResult:
        conditioned = [condition(prompt, weights) for prompt, weights in zip(prompts, weights_per_prompt)]
        rewards, responses = scored_responses(generator, prompts, conditioned, settings.samples_per_prompt,
                                              config.run.seed)
        true_scalarised = None
        if truth is not None:
            per_response = truth.repeat_interleave(settings.samples_per_prompt, dim=0)
            true_scalarised = float(scalarise(rewards, per_response).mean())
        result = PointResult(label, weights, rewards.mean(dim=0).tolist(), true_scalarised, **prompt_statistics(
            rewards, responses, truth, config.objectives, settings.samples_per_prompt, toy_world,
            settings.interval_level, settings.bootstrap_resamples, config.run.seed))
        logger.info("evaluate %s: %s", label, [round(r, 4) for r in result.rewards])
        texts = [(index, prompt, text) for index, (prompt, text) in enumerate(zip(prompts, conditioned))
                 for _ in range(settings.samples_per_prompt)]
        samples.extend({"point": label, "prompt_index": index, "prompt": prompt, "conditioned": text,
                        "response": response, "rewards": dict(zip(config.objectives, row))}
                       for (index, prompt, text), response, row in zip(texts, responses, rewards.tolist()))
        return result

    points: List[PointResult] = []
    for weights in grid:
        if soups:
            generator.use_soup(soups, list(weights))
        label = "fixed" if settings.method == "fixed" else "w=(" + ", ".join(f"{w:.2f}" for w in weights) + ")"
        points.append(point(label, None if settings.method == "fixed" else list(weights), [weights] * len(prompts)))

    untagged_point = None
    if settings.method == "moslim" and settings.untagged_point:
        untagged_point = point("untagged", None, [None] * len(prompts))
    orchestrator_point = None
    if settings.orchestrator_point and config.orchestrator.path and settings.method in ("wic", "ric"):
        predictor = OrchestratorPredictor(config.orchestrator.path, config.run.device,
                                          max_length=config.orchestrator.max_prompt_length)
        predicted = predictor.predict(prompts)
        orchestrator_point = point("orchestrator", predicted.mean(dim=0).tolist(), predicted.tolist())
    return {**summarise(config, points, orchestrator_point, untagged_point), "samples": samples}


def summarise(config: ProRLConfig, points: List[PointResult], orchestrator_point: Optional[PointResult],
              untagged_point: Optional[PointResult] = None) -> Dict[str, object]:
    """Pareto mask and hypervolume of the grid points, the equal-weight point, everything as plain data."""
    matrix = torch.tensor([point.rewards for point in points], dtype=torch.float64)
    reference = list(config.evaluate.reference_point) or (matrix.min(dim=0).values - 1.0).tolist()
    on_front = pareto_mask(matrix).tolist()
    equal = equal_weights(len(config.objectives))
    equal_point = next((p for p in points if p.weights and all(abs(a - b) < 1e-6 for a, b in zip(p.weights, equal))), None)
    if config.evaluate.method == "fixed":  # a policy without tags answers every weight vector the same way
        equal_point = points[0]
    return {
        "method": config.evaluate.method,
        "objectives": list(config.objectives),
        "points": [{**asdict(point), "on_front": flag} for point, flag in zip(points, on_front)],
        "orchestrator": asdict(orchestrator_point) if orchestrator_point else None,
        "untagged": asdict(untagged_point) if untagged_point else None,
        "equal_weights": asdict(equal_point) if equal_point else None,
        "reference_point": reference,
        "hypervolume": hypervolume(matrix, reference),
    }
