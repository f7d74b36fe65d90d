"""PRO-WIC and RiC on one process: weight- (or score-) conditioned SFT with online rejection sampling.

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
``final/policy`` with ``wic_conditioning.json`` (conditioning, objectives, z-score stats) beside its weights, so that
evaluation conditions it the same way.

Resume (``run.resume: auto``) works stage by stage: a finished stage leaves ``stage.json`` (its metrics) and, online,
``kept.jsonl`` (the rows it added), and a resumed run reuses them instead of training again; a stage killed midway
starts again from the previous stage's policy. The prompt sampler's random draws are replayed for skipped stages, so
a resumed run samples the same prompts and targets as an uninterrupted one.

Simplifications: chat-message prompts are rendered in the plain Human/Assistant format before the tags are added;
each stage's optimizer starts fresh.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from pro_rl.algorithms import orchestrator_metrics, zscore_stats
from pro_rl.algorithms.rejection import quantile_filter, realised_weights
from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import DataConfig, ProRLConfig
from pro_rl.data.canonical import is_local, load_pairs, load_prompts, read_jsonl, write_jsonl
from pro_rl.data.conditioning import ric_prompt, ric_random_targets, ric_targets_from_weights, wic_prompt
from pro_rl.data.errors import DataError
from pro_rl.data.formats import render_prompt, render_response
from pro_rl.models.builders import load_policy
from pro_rl.models.scoring import OrchestratorPredictor, RewardScorer, default_device
from pro_rl.rollout.base import SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.sft import train_sft

logger = logging.getLogger("pro_rl.training")

CONDITIONINGS = ("wic", "ric")
CONDITIONING_FILE = "wic_conditioning.json"
STAGE_RECORD = "stage.json"
KEPT_ROWS = "kept.jsonl"


@dataclass
class Conditioning:
    """How a policy reads its tags: the method, the objectives in tag order and the offline z-score stats."""

    method: str
    objectives: List[str]
    mean: List[float]
    std: List[float]
    z_min: List[float]
    z_max: List[float]

    def normalise(self, reward_matrix: torch.Tensor) -> torch.Tensor:
        """(N, K) z-scores with the offline stats."""
        mean = torch.tensor(self.mean, dtype=torch.float64)
        std = torch.tensor(self.std, dtype=torch.float64)
        return (reward_matrix.to(torch.float64) - mean) / std

    def prompt(self, prompt: str, vector: Sequence[float]) -> str:
        """``prompt`` with weight tags (wic) or score tags (ric)."""
        return wic_prompt(prompt, vector) if self.method == "wic" else ric_prompt(prompt, vector)

    def prompt_for_weights(self, prompt: str, weights: Sequence[float]) -> str:
        """``prompt`` conditioned on a user's preference weights: the weights themselves as tags (wic), or the
        target scores RiC's preference-to-reward mapping gives them over the offline z-score range (ric)."""
        if self.method == "wic":
            return wic_prompt(prompt, weights)
        return ric_prompt(prompt, ric_targets_from_weights(weights, self.z_min, self.z_max))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Conditioning":
        if not Path(path).is_file():
            raise FileNotFoundError(f"no {CONDITIONING_FILE} at {path}: was this policy trained by the pro_wic pipeline?")
        return cls(**json.loads(Path(path).read_text()))


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
    if not 0 <= wic.quantile <= 1 or wic.tau <= 0:
        raise ConfigError(f"key 'wic': quantile must be in [0, 1] and tau > 0, got {wic.quantile} and {wic.tau}")
    if min(wic.offline_steps, wic.online_steps, wic.online_prompts, wic.samples_per_prompt) < 1 \
            or wic.online_iterations < 0:
        raise ConfigError("key 'wic': steps, prompts and samples must be >= 1 and online_iterations >= 0")
    if not config.reward_models:
        raise ConfigError("key 'reward_models': PRO-WIC/RiC needs at least one reward model or function")
    if not (wic.offline_data or config.data.sft):
        raise ConfigError("key 'wic.offline_data': empty and data.sft is empty too; name the offline rows")


def score_matrix(scorers: Sequence[RewardScorer], prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
    """(N, K) float64 scores; a NaN/inf score is an error naming the objective."""
    columns = []
    for scorer in scorers:
        column = torch.tensor(scorer.score(prompts, responses), dtype=torch.float64)
        bad = int((~torch.isfinite(column)).sum())
        if bad:
            raise ValueError(f"objective '{scorer.name}': {bad} of {len(column)} scores are NaN/inf")
        columns.append(column)
    return torch.stack(columns, dim=1)


def row_labels(conditioning: Conditioning, normalised: torch.Tensor, tau: float) -> torch.Tensor:
    """(N, K) tag values of rows whose responses earned ``normalised`` rewards: w = softmax(z/τ) (wic) or z (ric)."""
    return realised_weights(normalised, tau) if conditioning.method == "wic" else normalised


def conditioned_rows(conditioning: Conditioning, prompts: Sequence[str], responses: Sequence[str],
                     labels: torch.Tensor) -> List[dict]:
    """SFT rows {prompt: conditioned prompt, response}."""
    return [{"prompt": conditioning.prompt(prompt, label), "response": response}
            for prompt, response, label in zip(prompts, responses, labels.tolist())]


def offline_rows(path: str, data: DataConfig) -> tuple[List[str], List[str]]:
    """(prompts, responses) of the offline rows. A local JSONL row gives its ``response``, or both sides of a
    ``chosen``/``rejected`` pair; any other source (a hub dataset such as Anthropic/hh-rlhf) is read as pairs through
    its adapter. Each response is labelled with its own rewards, so the rejected side teaches the tags too (RiC)."""
    if is_local(path) and str(path).endswith(".jsonl"):
        rows = read_jsonl(path)
    else:
        rows = load_pairs(path, max_rows=data.max_rows or None, max_chars=data.max_chars or None,
                          on_bad_row=data.on_bad_row).to_list()
    prompts, responses = [], []
    for index, row in enumerate(rows):
        targets = [row["response"]] if row.get("response") is not None else \
            [row[side] for side in ("chosen", "rejected") if row.get(side) is not None]
        if "prompt" not in row or not targets:
            raise DataError(path, "offline rows need 'prompt' and 'response' (or 'chosen'/'rejected')", row=index)
        for target in targets:
            prompts.append(render_prompt(row["prompt"]))
            responses.append(render_response(target))
    return prompts, responses


def finished_stage(config: ProRLConfig, stage_dir: Path) -> Optional[Dict[str, Dict[str, float]]]:
    """The record of a stage an earlier run finished (only when resuming), else None."""
    record = stage_dir / STAGE_RECORD
    if config.run.resume != "auto" or not record.is_file():
        return None
    logger.info("%s: stage %s finished earlier, reused", config.wic.conditioning, stage_dir.name)
    return json.loads(record.read_text())


def record_stage(stage_dir: Path, values: Dict[str, float]) -> None:
    (stage_dir / STAGE_RECORD).write_text(json.dumps({"values": values}, indent=2) + "\n")


def sft_stage(config: ProRLConfig, rows: List[dict], stage_dir: Path, init_policy: str, steps: int) -> tuple[Path, Dict[str, float]]:
    """Fine-tune ``init_policy`` on ``rows`` for ``steps`` steps in ``stage_dir``; returns (policy dir, eval)."""
    stage_dir.mkdir(parents=True, exist_ok=True)
    (stage_dir / STAGE_RECORD).unlink(missing_ok=True)
    data_path = stage_dir / "train.jsonl"
    write_jsonl(rows, data_path)
    stage_config = replace(config, data=replace(config.data, sft=str(data_path)),
                           policy=replace(config.policy, model=init_policy, sft_steps=steps))
    metrics = MetricsLogger(stage_dir, tensorboard=False)
    try:
        result = train_sft(stage_config, stage_dir, metrics)
    finally:
        metrics.close()
    return stage_dir / "final" / "policy", result


def online_vectors(conditioning: Conditioning, config: ProRLConfig, prompts: Sequence[str], rng: random.Random,
                   orchestrator: Optional[OrchestratorPredictor]) -> List[List[float]]:
    """Tag values of the sampled prompts: f(x) or uniform (wic), RiC's random targets (ric)."""
    num_objectives = len(conditioning.objectives)
    if conditioning.method == "ric":
        return [ric_random_targets(rng, conditioning.z_max, num_objectives) for _ in prompts]
    if orchestrator is None:
        return [[1.0 / num_objectives] * num_objectives for _ in prompts]
    return orchestrator.predict(list(prompts)).tolist()


def load_orchestrator(config: ProRLConfig) -> Optional[OrchestratorPredictor]:
    """The orchestrator of the online stage (PRO-WIC with ``wic.online_weights: orchestrator``), else None."""
    wic = config.wic
    if wic.conditioning != "wic" or wic.online_weights != "orchestrator" or wic.online_iterations == 0:
        return None
    predictor = OrchestratorPredictor(config.orchestrator.path, config.run.device,
                                      max_length=config.orchestrator.max_prompt_length)
    if predictor.objectives != config.objectives:
        raise ConfigError(f"key 'orchestrator.path': its objectives {predictor.objectives} differ from the reward "
                          f"models' {config.objectives}")
    return predictor


def policy_engine(config: ProRLConfig, source: str) -> HFRolloutEngine:
    """An hf rollout engine for the policy at ``source`` with the config's sampling settings and device."""
    model, tokenizer = load_policy(source, config.policy)
    return HFRolloutEngine(model, tokenizer, SamplingSettings.from_config(config.rollout),
                           config.policy.max_prompt_length, default_device(config.run.device))


def generate(config: ProRLConfig, policy_dir: Path, prompts: Sequence[str], seed: int):
    """``wic.samples_per_prompt`` responses per (already conditioned) prompt with the policy in ``policy_dir``."""
    return policy_engine(config, str(policy_dir)).generate(prompts, config.wic.samples_per_prompt, seed=seed)


def sample_prompts(config: ProRLConfig, rng: random.Random) -> List[str]:
    """``wic.online_prompts`` prompts of ``data.prompts`` (without replacement while there are enough)."""
    source = config.data.prompts
    if not source:
        raise ConfigError("key 'data.prompts': empty, but the online stage samples prompts from it")
    prompts = [render_prompt(p) for p in load_prompts(source, on_bad_row=config.data.on_bad_row)["prompt"]]
    count = config.wic.online_prompts
    return rng.sample(prompts, count) if count <= len(prompts) else [rng.choice(prompts) for _ in range(count)]


def reward_log(objectives: Sequence[str], reward_matrix: torch.Tensor) -> Dict[str, float]:
    return {f"reward/{name}/mean": float(value) for name, value in zip(objectives, reward_matrix.mean(dim=0))}


def train_wic(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger) -> Dict[str, float]:
    """The offline stage then ``wic.online_iterations`` online iterations; the policy lands in ``final/policy``."""
    check_wic_config(config)
    wic = config.wic
    scorers = [RewardScorer(spec, config.run.device) for spec in config.reward_models]
    rng = random.Random(config.run.seed)

    # Offline stage (eq. 10): label each row with what its own response earned.
    prompts, responses = offline_rows(wic.offline_data or config.data.sft, config.data)
    rewards = score_matrix(scorers, prompts, responses)
    mean, std = zscore_stats(rewards)
    normalised = (rewards - mean) / std
    conditioning = Conditioning(wic.conditioning, list(config.objectives), mean.tolist(), std.tolist(),
                                normalised.min(dim=0).values.tolist(), normalised.max(dim=0).values.tolist())
    conditioning.save(output_dir / "reward_stats.json")
    labels = row_labels(conditioning, normalised, wic.tau)
    offline = conditioned_rows(conditioning, prompts, responses, labels)
    stage_dir = output_dir / "stages" / "offline"
    policy_dir = stage_dir / "final" / "policy"
    final_values: Dict[str, float] = {}
    record = finished_stage(config, stage_dir)
    if record:
        final_values.update(record["values"])
    else:
        policy_dir, result = sft_stage(config, offline, stage_dir, config.policy.model, wic.offline_steps)
        values = {"wic/rows": len(offline), **reward_log(config.objectives, rewards), **prefixed(result, "offline")}
        if wic.conditioning == "wic":
            values["wic/label_entropy"] = orchestrator_metrics(labels, labels)["target_entropy"]
        metrics.log(0, values)
        record_stage(stage_dir, values)
        final_values.update(values)

    # Online stage (eq. 11): generate with recommended (or random) tags, keep the best, relabel, train on the union.
    kept_offline = [row for row, keep in zip(offline, quantile_filter(rewards, wic.quantile).tolist()) if keep]
    orchestrator = load_orchestrator(config)
    online: List[dict] = []
    for iteration in range(1, wic.online_iterations + 1):
        sampled = sample_prompts(config, rng)
        vectors = online_vectors(conditioning, config, sampled, rng, orchestrator)
        stage_dir = output_dir / "stages" / f"online-{iteration}"
        record = finished_stage(config, stage_dir)
        if record:
            final_values.update(record["values"])
            online += read_jsonl(stage_dir / KEPT_ROWS)
            policy_dir = stage_dir / "final" / "policy"
            continue
        rollouts = generate(config, policy_dir, [conditioning.prompt(p, v) for p, v in zip(sampled, vectors)],
                            seed=config.run.seed + iteration)
        raw_prompts = [p for p in sampled for _ in range(rollouts.num_samples)]
        rewards = score_matrix(scorers, raw_prompts, rollouts.responses)
        keep = quantile_filter(rewards, wic.quantile)
        kept = keep.nonzero().flatten().tolist()
        if wic.online_labels == "recommended":  # eq. 11: the weights the sample was generated with
            labels = torch.tensor([vectors[i // rollouts.num_samples] for i in kept], dtype=torch.float64)
        else:  # RiC: what the sample realised
            labels = row_labels(conditioning, conditioning.normalise(rewards[kept]), wic.tau)
        new_rows = conditioned_rows(conditioning, [raw_prompts[i] for i in kept],
                                    [rollouts.responses[i] for i in kept], labels)
        online += new_rows
        policy_dir, result = sft_stage(config, kept_offline + online, stage_dir, str(policy_dir), wic.online_steps)
        write_jsonl(new_rows, stage_dir / KEPT_ROWS)
        values = {"wic/rows": len(kept_offline) + len(online), "wic/online/generated": len(rewards),
                  "wic/online/kept": len(kept), **reward_log(config.objectives, rewards), **prefixed(result, "online")}
        if wic.conditioning == "wic":
            values["wic/label_entropy"] = orchestrator_metrics(labels, labels)["target_entropy"]
        metrics.log(iteration, values)
        record_stage(stage_dir, values)
        final_values.update(values)

    final_dir = output_dir / "final" / "policy"
    if final_dir.exists():
        shutil.rmtree(final_dir)
    shutil.copytree(policy_dir, final_dir)
    conditioning.save(final_dir / CONDITIONING_FILE)
    logger.info("%s: final policy in %s", wic.conditioning, final_dir)
    return final_values


def prefixed(result: Dict[str, float], stage: str) -> Dict[str, float]:
    """``eval/sft/loss`` → ``eval/<stage>/loss``."""
    return {key.replace("/sft/", f"/{stage}/"): value for key, value in result.items()}
