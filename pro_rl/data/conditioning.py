"""Preference tags in the prompt: PRO-WIC's weight tags and RiC's reward-score tags.

- PRO-WIC (PRO §4.3, eqs. 10–11) appends the weight vector to the prompt with the template
  ``Prompt <W1> w1 <W2> w2 ... <WK> wK``. Weights are written with two decimals (``0.70``), so a weight vector
  and its tag text map one to one at the grid resolution used in evaluation (steps of 0.1 or finer down to 0.01).
  Rendered rows sum to 1 only up to that rounding; the tags are text, not a distribution.
- RiC (Yang et al. 2024, "Rewards-in-Context") inserts the (z-scored) reward scores as
  ``<rm1_score> -0.3 <rm2_score> 1.2`` with one decimal, before the final ``\\n\\nAssistant:`` of the prompt
  (appended at the end when the prompt has no such marker, e.g. a chat-template prompt).
- RiC's online stage draws its target scores at random: one objective, chosen uniformly, gets u ~ U[-4.3, 4.3] and
  the others their maximum (``ric_random_targets``). At test time RiC maps a user's weights to target scores with
  its preference-to-reward mapping (RiC §3.3): s_k = max_k if w_k >= 1/K, else min_k + K·w_k·(max_k − min_k)
  (``ric_targets_from_weights``).

Values are rounded half-to-even by Python's format; ``-0.0`` is written as ``0.0``.
"""

from __future__ import annotations

import random
from typing import List, Sequence

ASSISTANT_MARKER = "\n\nAssistant:"
WEIGHT_DECIMALS = 2
SCORE_DECIMALS = 1
RIC_RANDOM_RANGE = (-4.3, 4.3)


def _number(value: float, decimals: int) -> str:
    """``value`` with a fixed number of decimals, never a negative zero."""
    text = f"{float(value):.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def weight_tags(weights: Sequence[float]) -> str:
    """``<W1> 0.70 <W2> 0.15 <W3> 0.15`` for weights (0.7, 0.15, 0.15)."""
    if len(weights) == 0:
        raise ValueError("weights must have at least one entry")
    return " ".join(f"<W{index + 1}> {_number(w, WEIGHT_DECIMALS)}" for index, w in enumerate(weights))


def wic_prompt(prompt: str, weights: Sequence[float]) -> str:
    """The PRO-WIC conditioned prompt: ``prompt`` followed by a space and the weight tags (PRO eq. 10/11)."""
    return f"{prompt} {weight_tags(weights)}"


def score_tags(scores: Sequence[float]) -> str:
    """``<rm1_score> -0.3 <rm2_score> 1.2`` for scores (-0.3, 1.2)."""
    if len(scores) == 0:
        raise ValueError("scores must have at least one entry")
    return " ".join(f"<rm{index + 1}_score> {_number(s, SCORE_DECIMALS)}" for index, s in enumerate(scores))


def ric_prompt(prompt: str, scores: Sequence[float]) -> str:
    """The RiC conditioned prompt: score tags inserted before the last ``\\n\\nAssistant:`` (else appended)."""
    position = prompt.rfind(ASSISTANT_MARKER)
    if position < 0:
        return f"{prompt} {score_tags(scores)}"
    return f"{prompt[:position]} {score_tags(scores)}{prompt[position:]}"


def ric_random_targets(rng: random.Random, score_max: Sequence[float], num_objectives: int,
                       low: float = RIC_RANDOM_RANGE[0], high: float = RIC_RANDOM_RANGE[1]) -> List[float]:
    """RiC's online targets: a uniformly chosen objective gets u ~ U[low, high], the others ``score_max``.

    Args:
        rng: the sampler (``random.Random``), so a seeded run repeats its targets.
        score_max: (K,) maximum normalised score of each objective over the offline data.
        num_objectives: K.
    """
    if len(score_max) != num_objectives:
        raise ValueError(f"score_max has {len(score_max)} entries for {num_objectives} objectives")
    targets = [float(value) for value in score_max]
    targets[rng.randrange(num_objectives)] = rng.uniform(low, high)
    return targets


def ric_targets_from_weights(weights: Sequence[float], score_min: Sequence[float],
                             score_max: Sequence[float]) -> List[float]:
    """RiC's preference-to-reward mapping: s_k = max_k if w_k >= 1/K, else min_k + K·w_k·(max_k − min_k)."""
    num_objectives = len(weights)
    if not len(score_min) == len(score_max) == num_objectives:
        raise ValueError(f"weights, score_min and score_max differ in length: {num_objectives}, "
                         f"{len(score_min)}, {len(score_max)}")
    return [float(high) if w >= 1.0 / num_objectives - 1e-9 else float(low + num_objectives * w * (high - low))
            for w, low, high in zip(weights, score_min, score_max)]
