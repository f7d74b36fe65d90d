"""Answer prompts with a trained policy (``pro-rl generate``), conditioned the way it was trained.

A PRO-WIC or RiC policy (its directory holds ``wic_conditioning.json``) reads preference tags: the user's weights
when given, otherwise the orchestrator's per-prompt weights f(x) — PRO's default for a user who names none. Any
other policy (SFT, MORLHF, PRO-MORLHF, a soup) answers the prompt as it is.

An SGA policy (its directory holds the score head, ``sga_head.json``) senses the scores ŝ from each raw prompt, or
takes the user's ``scores`` (external steering), and answers the score-conditioned prompt from one prefill of the
prompt (``pro_rl.rollout.sga``). Its sampling defaults are the ones saved with it (``sga_scores.json``; SGA's
T 0.6, top-p 0.9); rows carry the scores used and the sensed ones.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ModelConfig, SgaConfig
from pro_rl.config.method_validation import sga_head_objectives
from pro_rl.data.formats import render_prompt
from pro_rl.models.builders import load_policy
from pro_rl.models.scoring import OrchestratorPredictor, default_device
from pro_rl.models.sga import SCORES_FILE, is_sga_policy, load_sga_policy
from pro_rl.rollout.base import SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.rollout.sga import SGAGenerator
from pro_rl.training.wic import CONDITIONING_FILE, Conditioning

PLAIN_SAMPLING = SamplingSettings(temperature=0.7, top_p=0.9)  # what `pro-rl generate` samples with by default


def check_weights(conditioning: Optional[Conditioning], weights: Optional[Sequence[float]],
                  orchestrator: Optional[str]) -> None:
    """The user's weights (or orchestrator) against what the policy reads; a ``ConfigError`` before any model loads."""
    if conditioning is None:
        if weights is not None or orchestrator:
            raise ConfigError("this policy was not trained with preference tags (no wic_conditioning.json): "
                              "it takes no weights")
        return
    num_objectives = len(conditioning.objectives)
    if weights is not None:
        if (len(weights) != num_objectives or not all(math.isfinite(w) and w >= 0 for w in weights)
                or abs(sum(weights) - 1) > 1e-6):
            raise ConfigError(f"--weights {list(weights)}: need {num_objectives} weights ≥ 0 summing to 1, in the "
                              f"order {conditioning.objectives}")
    elif not orchestrator:
        raise ConfigError(f"this policy reads preference tags for {conditioning.objectives}: give --weights or an "
                          "--orchestrator to recommend them")


def prompt_weights(conditioning: Optional[Conditioning], count: int, weights: Optional[Sequence[float]],
                   orchestrator: Optional[str], device: str, prompts: Sequence[str]) -> List[Optional[List[float]]]:
    """One weight vector per prompt (None for a policy without tags): the user's, else the orchestrator's."""
    check_weights(conditioning, weights, orchestrator)
    if conditioning is None:
        return [None] * count
    if weights is not None:
        return [list(weights)] * count
    predictor = OrchestratorPredictor(orchestrator, device)
    if predictor.objectives != conditioning.objectives:
        raise ConfigError(f"the orchestrator's objectives {predictor.objectives} differ from the policy's "
                          f"{conditioning.objectives}")
    return predictor.predict(list(prompts)).tolist()


def generate_answers(policy: str, prompts: Sequence, weights: Optional[Sequence[float]] = None,
                     orchestrator: Optional[str] = None, settings: Optional[SamplingSettings] = None,
                     num_samples: int = 1, max_prompt_length: int = 512, device: str = "auto",
                     seed: int = 0, scores: Optional[Sequence[float]] = None,
                     snap_grid: Optional[int] = None, prompt_format: str = "auto") -> List[Dict]:
    """Rows {prompt, weights, conditioned_prompt, response}, ``num_samples`` per prompt; for an SGA policy
    {prompt, scores, sensed_scores, conditioned_prompt, response} (``sga_answers``). Prompts render in
    ``prompt_format`` (``pro_rl.data.formats``)."""
    if is_sga_policy(policy):
        return sga_answers(policy, prompts, scores, settings, num_samples, max_prompt_length, device, seed,
                           snap_grid, weights is not None or bool(orchestrator), prompt_format)
    if scores is not None:
        raise ConfigError(f"{policy} is not an SGA policy (no sga_head.json beside the LM): --scores steers only "
                          "SGA policies")
    conditioning_path = Path(policy) / CONDITIONING_FILE
    conditioning = Conditioning.load(conditioning_path) if conditioning_path.is_file() else None
    check_weights(conditioning, weights, orchestrator)
    model, tokenizer = load_policy(policy, ModelConfig(model=policy))
    texts = [render_prompt(prompt, tokenizer, prompt_format) for prompt in prompts]
    vectors = prompt_weights(conditioning, len(texts), weights, orchestrator, device, texts)
    conditioned = [text if vector is None else conditioning.prompt_for_weights(text, vector)
                   for text, vector in zip(texts, vectors)]
    engine = HFRolloutEngine(model, tokenizer, settings or SamplingSettings(), max_prompt_length,
                             default_device(device))
    rollouts = engine.generate(conditioned, num_samples, seed=seed)
    return [{"prompt": prompts[index // num_samples], "weights": vectors[index // num_samples],
             "conditioned_prompt": conditioned[index // num_samples], "response": response}
            for index, response in enumerate(rollouts.responses)]


def sga_defaults(policy: str) -> SgaConfig:
    """The inference settings saved with an SGA policy (``sga_scores.json``: snap_grid, temperature, top_p), else
    the ``sga`` section's defaults."""
    path = Path(policy) / SCORES_FILE
    saved = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    defaults = SgaConfig()
    return SgaConfig(snap_grid=int(saved.get("snap_grid", defaults.snap_grid)),
                     temperature=float(saved.get("temperature", defaults.temperature)),
                     top_p=float(saved.get("top_p", defaults.top_p)))


def sampling_settings(policy: str, temperature: Optional[float], top_p: Optional[float],
                      max_new_tokens: int) -> SamplingSettings:
    """The sampling of ``pro-rl generate``: the options given, else the policy's defaults (an SGA policy's saved
    ones, see ``sga_defaults``; T 0.7, top-p 0.9 for the others)."""
    defaults = sga_defaults(policy) if is_sga_policy(policy) else PLAIN_SAMPLING
    return SamplingSettings(temperature=defaults.temperature if temperature is None else temperature,
                            top_p=defaults.top_p if top_p is None else top_p, max_new_tokens=max_new_tokens)


def check_sga_scores(policy: str, scores: Optional[Sequence[float]], with_weights: bool) -> List[str]:
    """The head's objectives; the user's scores (K of them, each in [0, 1]) checked against them before any model
    loads. Weights or an orchestrator are refused: an SGA policy reads scores."""
    objectives = sga_head_objectives(policy)
    if with_weights:
        raise ConfigError(f"{policy} is an SGA policy: it reads scores, not weights; steer it with --scores "
                          "(or give neither and it senses them)")
    if scores is not None and (len(scores) != len(objectives)
                               or not all(math.isfinite(s) and 0 <= s <= 1 for s in scores)):
        raise ConfigError(f"--scores {','.join(f'{s:g}' for s in scores)}: need {len(objectives)} scores in [0, 1], "
                          f"one per objective of the head {objectives} (K mismatch or a value out of range)")
    return objectives


def sga_answers(policy: str, prompts: Sequence, scores: Optional[Sequence[float]],
                settings: Optional[SamplingSettings], num_samples: int, max_prompt_length: int, device: str,
                seed: int, snap_grid: Optional[int] = None, with_weights: bool = False,
                prompt_format: str = "auto") -> List[Dict]:
    """Rows {prompt, scores, sensed_scores, conditioned_prompt, response} of an SGA policy: sensed ŝ (snapped to
    ``snap_grid``, default the policy's) or the user's ``scores`` (not snapped)."""
    objectives = check_sga_scores(policy, scores, with_weights)
    defaults = sga_defaults(policy)
    lm, head, tokenizer = load_sga_policy(policy, ModelConfig(model=policy))
    generator = SGAGenerator(lm, head, tokenizer, settings or sampling_settings(policy, None, None, 128),
                             max_prompt_length, default_device(device),
                             defaults.snap_grid if snap_grid is None else snap_grid)
    # auto: messages in the plain Human/Assistant format, as SGA trains (the chat template only for 'chat')
    texts = [render_prompt(prompt, tokenizer if prompt_format == "chat" else None, prompt_format) for prompt in prompts]
    result = generator.generate(texts, num_samples, None if scores is None else [list(scores)] * len(texts), seed)
    rows = []
    for index, response in enumerate(result.rollouts.responses):
        prompt_index = index // num_samples
        rows.append({"prompt": prompts[prompt_index],
                     "scores": dict(zip(objectives, result.scores[prompt_index].tolist())),
                     "sensed_scores": dict(zip(objectives, result.sensed[prompt_index].tolist())),
                     "conditioned_prompt": result.rollouts.prompts[index], "response": response})
    return rows
