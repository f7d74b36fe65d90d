"""Answer prompts with a trained policy (``pro-rl generate``), conditioned the way it was trained.

A PRO-WIC or RiC policy (its directory holds ``wic_conditioning.json``) reads preference tags: the user's weights
when given, otherwise the orchestrator's per-prompt weights f(x) — PRO's default for a user who names none. Any
other policy (SFT, MORLHF, PRO-MORLHF, a soup) answers the prompt as it is.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ModelConfig
from pro_rl.data.formats import render_prompt
from pro_rl.models.builders import load_policy
from pro_rl.models.scoring import OrchestratorPredictor, default_device
from pro_rl.rollout.base import SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.training.wic import CONDITIONING_FILE, Conditioning


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
                     seed: int = 0) -> List[Dict]:
    """Rows {prompt, weights, conditioned_prompt, response}, ``num_samples`` per prompt."""
    conditioning_path = Path(policy) / CONDITIONING_FILE
    conditioning = Conditioning.load(conditioning_path) if conditioning_path.is_file() else None
    check_weights(conditioning, weights, orchestrator)
    model, tokenizer = load_policy(policy, ModelConfig(model=policy))
    texts = [render_prompt(prompt, tokenizer) for prompt in prompts]
    vectors = prompt_weights(conditioning, len(texts), weights, orchestrator, device, texts)
    conditioned = [text if vector is None else conditioning.prompt_for_weights(text, vector)
                   for text, vector in zip(texts, vectors)]
    engine = HFRolloutEngine(model, tokenizer, settings or SamplingSettings(), max_prompt_length,
                             default_device(device))
    rollouts = engine.generate(conditioned, num_samples, seed=seed)
    return [{"prompt": prompts[index // num_samples], "weights": vectors[index // num_samples],
             "conditioned_prompt": conditioned[index // num_samples], "response": response}
            for index, response in enumerate(rollouts.responses)]
