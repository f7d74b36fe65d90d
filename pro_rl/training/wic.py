"""PRO-WIC and RiC: weight- (or score-) conditioned SFT with online rejection sampling.

PRO §4.3 (eqs. 10–11), following RiC's recipe (Yang et al. 2024):

1. **Offline stage** (eq. 10). Score each offline row's response with the K reward scorers, z-score every objective
   over the rows (``zscore_stats``; the stats are saved as ``reward_stats.json``), label each row with
   w* = softmax(z/τ) of its own response (PRO-WIC) or with z itself (RiC), and fine-tune on
   conditioned prompt → response (``pro_rl.data.conditioning``).
2. **Online stage** (eq. 11), ``wic.online_iterations`` times: sample ``wic.online_prompts`` prompts; condition them
   on the orchestrator's weights f(x) (PRO-WIC; uniform weights when ``wic.online_weights: uniform``) or on RiC's
   random targets; generate; score; keep the samples that reach an objective's q-quantile (``quantile_filter``);
   relabel the kept ones with what they realised (``realised_weights`` / their z-scores; or, for PRO-WIC with
   ``wic.online_labels: recommended``, keep the orchestrator's f(x) they were generated with, eq. 11 read
   literally); fine-tune on the quantile-filtered offline rows plus all online rows so far.

Every fine-tuning stage is ``pro_rl.training.sft.train_sft`` on a JSONL of conditioned rows written into the stage's
directory (``stages/<name>/train.jsonl``), starting from the previous stage's policy. The final policy lands in
``final/policy`` with ``wic_conditioning.json`` (conditioning, objectives, z-score stats, toy world version) beside its
weights, so that evaluation conditions it the same way.

Soft labels for PRO-WIC (issue 14; off by default): with τ = 0.1 the labels are nearly one-hot and the policy never
sees tags as soft as the orchestrator's f(x). ``wic.tau_mode: matched`` labels offline and online rows with the τ at
which the offline labels are as soft as f(x) on the online prompts, on average (logged as ``wic/tau``), and ``both``
labels every row twice, with ``wic.tau`` and with that τ;
``wic.random_fraction`` tags that fraction of the online prompts with random weight vectors instead of f(x), so the
kept samples, relabelled with what they realised, cover more of the simplex (label mixing).

Resume (``run.resume: auto``) works stage by stage: a finished stage leaves ``stage.json`` (its metrics) and, online,
``kept.jsonl`` (the rows it added), and a resumed run reuses them instead of training again; a stage killed midway
starts again from the previous stage's policy. The prompt sampler's random draws are replayed for skipped stages, so
a resumed run samples the same prompts and targets as an uninterrupted one.

Layout: this module is the driver (``train_wic`` and its stages); ``wic_conditioning`` holds the tags
(``Conditioning``, row labels), ``wic_data`` the offline rows, prompt samples and reward matrices, ``wic_stages`` the
stage directories and their records.

Simplifications: chat-message prompts are rendered in the plain Human/Assistant format before the tags are added;
each stage's optimizer starts fresh.
"""

from __future__ import annotations

import logging
import random
import shutil
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from pro_rl.algorithms import weight_entropy, zscore, zscore_stats
from pro_rl.algorithms.rejection import quantile_filter
from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ProRLConfig
from pro_rl.data.canonical import read_jsonl, write_jsonl
from pro_rl.data.toy_world_graded import world_version
from pro_rl.models.scoring import OrchestratorPredictor
from pro_rl.rollout.generator import Generator, LocalGenerator
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.wic_conditioning import (CONDITIONING_FILE, CONDITIONINGS, Conditioning, conditioned_rows,
                                              TAU_MODES, label_taus, labelled_rows, online_vectors, row_labels)
from pro_rl.training.wic_data import WicInputs, load_wic_inputs, offline_rows, reward_log, sample_prompts, score_matrix
from pro_rl.training.wic_stages import KEPT_ROWS, finished_stage, prefixed, record_stage, sft_stage

logger = logging.getLogger("pro_rl.training")

# Names other modules import from here (evaluation, inference, the pro_wic pipeline).
__all__ = ["CONDITIONING_FILE", "Conditioning", "check_wic_config", "conditioned_rows", "offline_rows",
           "row_labels", "score_matrix", "train_wic"]


def check_wic_config(config: ProRLConfig) -> None:
    """The values of the ``wic`` section the types cannot check."""
    wic = config.wic
    if wic.conditioning not in CONDITIONINGS:
        raise ConfigError(f"key 'wic.conditioning': '{wic.conditioning}' is not one of {', '.join(CONDITIONINGS)}")
    if wic.online_labels not in ("realised", "recommended"):
        raise ConfigError(f"key 'wic.online_labels': '{wic.online_labels}' is not one of realised, recommended")
    if wic.online_labels == "recommended" and wic.conditioning != "wic":
        raise ConfigError("key 'wic.online_labels': 'recommended' is for PRO-WIC weight tags; RiC relabels with the "
                          "scores a sample earned")
    if wic.online_weights not in ("orchestrator", "uniform"):
        raise ConfigError(f"key 'wic.online_weights': '{wic.online_weights}' is not one of orchestrator, uniform")
    if wic.conditioning == "wic" and wic.online_iterations > 0 and wic.online_weights == "orchestrator" \
            and not config.orchestrator.path:
        raise ConfigError("key 'orchestrator.path': empty, but wic.online_weights is 'orchestrator'")
    if wic.tau_mode not in TAU_MODES:
        raise ConfigError(f"key 'wic.tau_mode': '{wic.tau_mode}' is not one of {', '.join(TAU_MODES)}")
    if wic.conditioning != "wic" and (wic.tau_mode != "fixed" or wic.random_fraction > 0):
        raise ConfigError("key 'wic': tau_mode matched/both and random_fraction are for PRO-WIC weight tags")
    if wic.tau_mode != "fixed" and not config.orchestrator.path:
        raise ConfigError(f"key 'orchestrator.path': empty, but wic.tau_mode '{wic.tau_mode}' reads the orchestrator's weights")
    if not 0 <= wic.quantile <= 1 or wic.tau <= 0:
        raise ConfigError(f"key 'wic': quantile must be in [0, 1] and tau > 0, got {wic.quantile} and {wic.tau}")
    if min(wic.offline_steps, wic.online_steps, wic.online_prompts, wic.samples_per_prompt) < 1 \
            or wic.online_iterations < 0:
        raise ConfigError("key 'wic': steps, prompts and samples must be >= 1 and online_iterations >= 0")
    if not config.reward_models:
        raise ConfigError("key 'reward_models': PRO-WIC/RiC needs at least one reward model or function")
    if not (wic.offline_data or config.data.sft):
        raise ConfigError("key 'wic.offline_data': empty and data.sft is empty too; name the offline rows")


def load_orchestrator(config: ProRLConfig) -> Optional[OrchestratorPredictor]:
    """The orchestrator of PRO-WIC's online stage (``wic.online_weights: orchestrator``) or of its matched τ
    (``wic.tau_mode: matched`` or ``both``), else None."""
    wic = config.wic
    online = wic.online_weights == "orchestrator" and wic.online_iterations > 0
    if wic.conditioning != "wic" or not (online or wic.tau_mode != "fixed"):
        return None
    predictor = OrchestratorPredictor(config.orchestrator.path, config.run.device,
                                      max_length=config.orchestrator.max_prompt_length)
    if predictor.objectives != config.objectives:
        raise ConfigError(f"key 'orchestrator.path': its objectives {predictor.objectives} differ from the reward "
                          f"models' {config.objectives}")
    return predictor


def label_entropy(method: str, labels: torch.Tensor) -> Dict[str, float]:
    """``wic/label_entropy``, the mean entropy of the weight tags (wic only: RiC's score tags are not weights)."""
    if method != "wic":
        return {}
    return {"wic/label_entropy": float(weight_entropy(labels.detach().double()).mean())}


@dataclass
class OfflineData:
    """The offline rows, scored and labelled with what their own responses earned (eq. 10)."""

    conditioning: Conditioning
    rows: List[dict]  # conditioned SFT rows {prompt, response}
    rewards: torch.Tensor  # (N, K) raw rewards
    labels: torch.Tensor  # (N, K) tag values
    taus: Sequence[float] = (0.1,)  # τ values of the wic labels, offline and online (``label_taus``)


def label_offline_rows(config: ProRLConfig, generator: Generator,
                       rows: Optional[Tuple[List[str], List[str]]] = None,
                       orchestrator: Optional[OrchestratorPredictor] = None,
                       tau_prompts: Sequence[str] = ()) -> OfflineData:
    """Score the offline rows ((prompts, responses); read from the config when not given) with ``generator``'s
    reward scorers, z-score each objective over them and tag each row with its own labels. ``orchestrator`` and
    ``tau_prompts`` (default: the rows' prompts): what ``wic.tau_mode`` matched/both reads the target entropy from.
    ``rewards`` and ``rows`` hold each row once per τ (``labelled_rows``)."""
    prompts, responses = rows or offline_rows(config.wic.offline_data or config.data.sft, config.data)
    rewards = generator.score(prompts, responses)
    mean, std = zscore_stats(rewards)
    normalised = zscore(rewards, mean, std)
    conditioning = Conditioning(config.wic.conditioning, list(config.objectives), mean.tolist(), std.tolist(),
                                normalised.min(dim=0).values.tolist(), normalised.max(dim=0).values.tolist(),
                                world_version(config.reward_models) or "")
    taus = label_taus(config.wic.tau_mode, config.wic.tau, normalised, orchestrator, list(tau_prompts) or prompts)
    rows, labels = labelled_rows(conditioning, prompts, responses, normalised, taus)
    return OfflineData(conditioning, rows, rewards.repeat(len(taus), 1), labels, taus)


def offline_stage(config: ProRLConfig, offline: OfflineData, stage_dir: Path,
                  metrics: MetricsLogger) -> tuple[Path, Dict[str, float]]:
    """Fine-tune the initial policy on the labelled offline rows; logs step 0. Returns (policy dir, values)."""
    policy_dir, result = sft_stage(config, offline.rows, stage_dir, config.policy.model, config.wic.offline_steps)
    values = {"wic/rows": len(offline.rows), **reward_log(config.objectives, offline.rewards),
              **prefixed(result, "offline"), **label_entropy(config.wic.conditioning, offline.labels),
              **({"wic/tau": offline.taus[-1]} if config.wic.conditioning == "wic" else {})}
    metrics.log(0, values)
    record_stage(config, stage_dir, values)
    return policy_dir, values


@dataclass
class OnlineSamples:
    """What one online iteration generated, and the rows of the samples it kept (eq. 11)."""

    rows: List[dict]  # conditioned SFT rows of the kept samples
    rewards: torch.Tensor  # (G, K) raw rewards of every generated sample
    labels: torch.Tensor  # (rows, K) tag values of the kept samples' rows
    kept: int  # how many samples were kept (each has one row per label τ)


def generate_and_keep(config: ProRLConfig, conditioning: Conditioning, generator: Generator, policy_dir: Path,
                      prompts: Sequence[str], vectors: Sequence[Sequence[float]], seed: int,
                      taus: Optional[Sequence[float]] = None) -> OnlineSamples:
    """Generate ``wic.samples_per_prompt`` responses with the policy in ``policy_dir`` from ``prompts`` tagged with
    ``vectors``, score, keep the samples that reach an objective's ``wic.quantile`` and label them: with the weights
    they were generated with (``wic.online_labels: recommended``, eq. 11 read literally) or with what they realised
    (RiC's relabelling, softmax(z/τ), each kept sample once per τ of ``taus``, default [``wic.tau``])."""
    generator.use_policy(str(policy_dir))
    tagged = [conditioning.prompt(prompt, vector) for prompt, vector in zip(prompts, vectors)]
    rollouts = generator.generate(tagged, config.wic.samples_per_prompt, seed=seed)
    raw_prompts = [p for p in prompts for _ in range(rollouts.num_samples)]
    rewards = generator.score(raw_prompts, rollouts.responses)
    kept = quantile_filter(rewards, config.wic.quantile).nonzero().flatten().tolist()
    kept_prompts, kept_responses = [raw_prompts[i] for i in kept], [rollouts.responses[i] for i in kept]
    if config.wic.online_labels == "recommended":
        labels = torch.tensor([vectors[i // rollouts.num_samples] for i in kept], dtype=torch.float64)
        return OnlineSamples(conditioned_rows(conditioning, kept_prompts, kept_responses, labels), rewards, labels,
                             len(kept))
    rows, labels = labelled_rows(conditioning, kept_prompts, kept_responses, conditioning.normalise(rewards[kept]),
                                 [config.wic.tau] if taus is None else taus)
    return OnlineSamples(rows, rewards, labels, len(kept))


def online_stage(config: ProRLConfig, training_rows: List[dict], samples: OnlineSamples, stage_dir: Path,
                 policy_dir: Path, iteration: int, metrics: MetricsLogger) -> tuple[Path, Dict[str, float]]:
    """Fine-tune the previous stage's policy on ``training_rows`` (the filtered offline rows plus every online row so
    far); logs step ``iteration``. Returns (policy dir, values)."""
    policy_dir, result = sft_stage(config, training_rows, stage_dir, str(policy_dir), config.wic.online_steps)
    write_jsonl(samples.rows, stage_dir / KEPT_ROWS)
    values = {"wic/rows": len(training_rows), "wic/online/generated": len(samples.rewards),
              "wic/online/kept": samples.kept, **reward_log(config.objectives, samples.rewards),
              **prefixed(result, "online"), **label_entropy(config.wic.conditioning, samples.labels)}
    metrics.log(iteration, values)
    record_stage(config, stage_dir, values)
    return policy_dir, values


def save_final_policy(policy_dir: Path, output_dir: Path, conditioning: Conditioning) -> Path:
    """Copy the last stage's policy to ``final/policy`` with ``wic_conditioning.json`` beside its weights."""
    final_dir = output_dir / "final" / "policy"
    if final_dir.exists():
        shutil.rmtree(final_dir)
    shutil.copytree(policy_dir, final_dir)
    conditioning.save(final_dir / CONDITIONING_FILE)
    return final_dir


def train_wic(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger, inputs: Optional[WicInputs] = None,
              make_generator: Callable[[ProRLConfig, str], Generator] = LocalGenerator) -> Dict[str, float]:
    """The offline stage then ``wic.online_iterations`` online iterations; the policy lands in ``final/policy``.
    ``inputs``: the rows and prompts, as ``load_wic_inputs`` reads them (read here when not given);
    ``make_generator(config, policy_path)``: the scorer of the offline rows and the sampler and scorer of the online
    stages (``pro_rl.rollout.generator``; the pipeline passes the run's rollout engines and reward actors)."""
    check_wic_config(config)
    inputs = inputs or load_wic_inputs(config)
    with closing(make_generator(config, config.policy.model)) as generator:
        return wic_stages(config, output_dir, metrics, inputs, generator)


def wic_stages(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger, inputs: WicInputs,
               generator: Generator) -> Dict[str, float]:
    """``train_wic``'s stages with ``generator``."""
    rng = random.Random(config.run.seed)

    # Offline stage (eq. 10): label each row with what its own response earned.
    orchestrator = load_orchestrator(config)
    offline = label_offline_rows(config, generator, (inputs.offline_prompts, inputs.offline_responses),
                                 orchestrator, inputs.online_prompts)
    recommender = orchestrator if config.wic.online_weights == "orchestrator" else None  # None: uniform online tags
    offline.conditioning.save(output_dir / "reward_stats.json")
    stage_dir = output_dir / "stages" / "offline"
    record = finished_stage(config, stage_dir)
    if record:
        policy_dir, values = stage_dir / "final" / "policy", record["values"]
    else:
        policy_dir, values = offline_stage(config, offline, stage_dir, metrics)
    final_values: Dict[str, float] = dict(values)

    # Online stage (eq. 11): generate with recommended (or random) tags, keep the best, relabel, train on the union.
    keep_offline = quantile_filter(offline.rewards, config.wic.quantile).tolist()
    kept_offline = [row for row, keep in zip(offline.rows, keep_offline) if keep]
    online_rows: List[dict] = []
    for iteration in range(1, config.wic.online_iterations + 1):
        # Drawn for finished stages too, so that a resumed run replays the same random draws.
        sampled = sample_prompts(inputs.online_prompts, config.wic.online_prompts, rng)
        vectors = online_vectors(offline.conditioning, sampled, rng, recommender, config.wic.random_fraction)
        stage_dir = output_dir / "stages" / f"online-{iteration}"
        record = finished_stage(config, stage_dir)
        if record:
            online_rows += read_jsonl(stage_dir / KEPT_ROWS)
            policy_dir, values = stage_dir / "final" / "policy", record["values"]
        else:
            samples = generate_and_keep(config, offline.conditioning, generator, policy_dir, sampled, vectors,
                                        seed=config.run.seed + iteration, taus=offline.taus)
            online_rows += samples.rows
            policy_dir, values = online_stage(config, kept_offline + online_rows, samples, stage_dir, policy_dir,
                                              iteration, metrics)
        final_values.update(values)

    final_dir = save_final_policy(policy_dir, output_dir, offline.conditioning)
    logger.info("%s: final policy in %s (rewards: %s)", config.wic.conditioning, final_dir,
                offline.conditioning.world or "not the toy world's")
    return final_values
