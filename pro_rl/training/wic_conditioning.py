"""How a PRO-WIC or RiC policy reads its tags, and the tag values of the rows it is trained on.

A ``Conditioning`` is saved beside the policy (``wic_conditioning.json``) so that evaluation and inference condition
prompts the way training did: the method (``wic``: weight tags ``<W1> w1 ...``, PRO eq. 10; ``ric``: RiC's score
tags ``<rm1_score> z1 ...``), the objectives in tag order, the offline z-score statistics and, for the toy world,
which version of its rewards trained the policy (``toy_world_graded.world_version``), so that numbers of different
versions are not mixed.

Row labels: a row whose response earned z-scored rewards z is tagged with w = softmax(z/τ) (wic, PRO eq. 7 applied
to a sample) or with z itself (ric). Online prompts are tagged with the orchestrator's f(x) (or uniform weights) for
wic and with RiC's random targets for ric.

Two options widen the part of the simplex PRO-WIC's labels cover (issue 14; both off by default):
``wic.tau_mode: matched`` labels with the τ at which the offline labels are as soft, on average, as the orchestrator's
weights (``label_taus``; ``both``: every row twice, with ``wic.tau`` and with that τ), and ``wic.random_fraction`` tags that fraction of the online prompts with random weight
vectors, uniform on the simplex, instead of f(x) (label mixing, after RiC's random targets).
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import torch

from pro_rl.algorithms import weight_entropy, zscore
from pro_rl.algorithms.rejection import entropy_matched_tau, realised_weights
from pro_rl.data.conditioning import ric_prompt, ric_random_targets, ric_targets_from_weights, wic_prompt
from pro_rl.models.scoring import OrchestratorPredictor

CONDITIONINGS = ("wic", "ric")
TAU_MODES = ("fixed", "matched", "both")
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
    world: str = ""  # the toy world version of the rewards it was trained on ("toy_world v1", ...; "" otherwise)

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


def label_taus(tau_mode: str, tau: float, normalised: torch.Tensor, orchestrator: Optional[OrchestratorPredictor],
               prompts: Sequence[str]) -> List[float]:
    """The τ values the wic rows are labelled with, each row once per value: [tau] ('fixed'), [τ_m] ('matched') or
    [tau, τ_m] ('both'), where τ_m is the τ at which the labels of rows with normalised rewards (N, K) have the mean
    entropy of the orchestrator's weights on ``prompts`` (``entropy_matched_tau``)."""
    if tau_mode == "fixed":
        return [tau]
    if orchestrator is None or not prompts:
        raise ValueError(f"wic.tau_mode '{tau_mode}' needs the orchestrator and prompts to read its weights on")
    target = float(weight_entropy(orchestrator.predict(list(prompts)).to(torch.float64)).mean())
    matched = entropy_matched_tau(normalised, target)
    return [tau, matched] if tau_mode == "both" else [matched]


def labelled_rows(conditioning: Conditioning, prompts: Sequence[str], responses: Sequence[str],
                  normalised: torch.Tensor, taus: Sequence[float]) -> tuple[List[dict], torch.Tensor]:
    """(SFT rows, (N·len(taus), K) labels) of rows whose responses earned ``normalised`` rewards: every row once per τ
    of ``taus`` (``label_taus``; ric labels are the z-scores whatever τ is, so ric takes one τ)."""
    labels = torch.cat([row_labels(conditioning, normalised, tau) for tau in taus])
    return conditioned_rows(conditioning, list(prompts) * len(taus), list(responses) * len(taus), labels), labels


def random_weights(rng: random.Random, num_objectives: int) -> List[float]:
    """A weight vector uniform on the simplex (normalised unit exponentials: Dirichlet(1, ..., 1))."""
    draws = [rng.expovariate(1.0) for _ in range(num_objectives)]
    return [draw / sum(draws) for draw in draws]


def online_vectors(conditioning: Conditioning, prompts: Sequence[str], rng: random.Random,
                   orchestrator: Optional[OrchestratorPredictor], random_fraction: float = 0.0) -> List[List[float]]:
    """Tag values of the sampled prompts: f(x) or uniform (wic), RiC's random targets (ric). For wic, each prompt
    is tagged with ``random_weights`` instead with probability ``random_fraction`` (label mixing; 0 draws nothing
    from ``rng``, so the default run's draws are unchanged)."""
    num_objectives = len(conditioning.objectives)
    if conditioning.method == "ric":
        return [ric_random_targets(rng, conditioning.z_max, num_objectives) for _ in prompts]
    if orchestrator is None:
        vectors = [[1.0 / num_objectives] * num_objectives for _ in prompts]
    else:
        vectors = orchestrator.predict(list(prompts)).tolist()
    if random_fraction > 0:
        vectors = [random_weights(rng, num_objectives) if rng.random() < random_fraction else vector
                   for vector in vectors]
    return vectors
