"""How a PRO-WIC or RiC policy reads its tags, and the tag values of the rows it is trained on.

A ``Conditioning`` is saved beside the policy (``wic_conditioning.json``) so that evaluation and inference condition
prompts the way training did: the method (``wic``: weight tags ``<W1> w1 ...``, PRO eq. 10; ``ric``: RiC's score
tags ``<rm1_score> z1 ...``), the objectives in tag order, and the offline z-score statistics.

Row labels: a row whose response earned z-scored rewards z is tagged with w = softmax(z/τ) (wic, PRO eq. 7 applied
to a sample) or with z itself (ric). Online prompts are tagged with the orchestrator's f(x) (or uniform weights) for
wic and with RiC's random targets for ric.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from pro_rl.algorithms import zscore
from pro_rl.algorithms.rejection import realised_weights
from pro_rl.data.conditioning import ric_prompt, ric_random_targets, ric_targets_from_weights, wic_prompt
from pro_rl.models.scoring import OrchestratorPredictor

CONDITIONINGS = ("wic", "ric")
CONDITIONING_FILE = "wic_conditioning.json"


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
        """(N, K) z-scores with the offline stats, in float64."""
        mean = torch.tensor(self.mean, dtype=torch.float64)
        std = torch.tensor(self.std, dtype=torch.float64)
        return zscore(reward_matrix.to(torch.float64), mean, std)

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


def row_labels(conditioning: Conditioning, normalised: torch.Tensor, tau: float) -> torch.Tensor:
    """(N, K) tag values of rows whose responses earned ``normalised`` rewards: w = softmax(z/τ) (wic) or z (ric)."""
    return realised_weights(normalised, tau) if conditioning.method == "wic" else normalised


def conditioned_rows(conditioning: Conditioning, prompts: Sequence[str], responses: Sequence[str],
                     labels: torch.Tensor) -> List[dict]:
    """SFT rows {prompt: conditioned prompt, response}."""
    return [{"prompt": conditioning.prompt(prompt, label), "response": response}
            for prompt, response, label in zip(prompts, responses, labels.tolist())]


def online_vectors(conditioning: Conditioning, prompts: Sequence[str], rng: random.Random,
                   orchestrator: Optional[OrchestratorPredictor]) -> List[List[float]]:
    """Tag values of the sampled prompts: f(x) or uniform (wic), RiC's random targets (ric)."""
    num_objectives = len(conditioning.objectives)
    if conditioning.method == "ric":
        return [ric_random_targets(rng, conditioning.z_max, num_objectives) for _ in prompts]
    if orchestrator is None:
        return [[1.0 / num_objectives] * num_objectives for _ in prompts]
    return orchestrator.predict(list(prompts)).tolist()
