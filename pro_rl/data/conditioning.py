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
- MOSLIM (§3.2) prefixes the user's text with intensity tags ``<helpful 3><humor 1>`` and strips them again before
  the reward model reads the prompt (``moslim_prompt``, ``parse_moslim_tags``; grammar in the MOSLIM block below).

Values are rounded half-to-even by Python's format; ``-0.0`` is written as ``0.0``.
"""

from __future__ import annotations

import random
import re
from typing import Dict, List, Mapping, Sequence, Tuple

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


# --- MOSLIM preference tags (MOSLIM §3.2, appendix A) -------------------------------------------------------------
# A MOSLIM prompt carries 1–3 tags ``<objective n>`` (objective name, intensity class n in 1..n_k) as a prefix of the
# user's text: right after the last ``\n\nHuman: `` of an hh-rlhf-style prompt, else at the very start, followed by
# one space: ``\n\nHuman: <helpful 3><humor 1> how do i fix my bike ?\n\nAssistant:``. Tags are written in the
# mapping's order (callers pass objective order). ``parse_moslim_tags`` reads them back and strips them ("prompt
# alignment": the reward model never sees tags); stripping a tagged prompt gives back exactly the untagged prompt.
# A user text that itself starts with ``<`` directly followed by a space-terminated run of ``<...>`` tokens is read
# as tags, and a well-formed ``<name n>`` anywhere else in the prompt is an error, so a tag is never silently ignored.

HUMAN_MARKER = "\n\nHuman: "
_MOSLIM_TAG = re.compile(r"<([A-Za-z_][\w-]*) (-?\d+)>")
_MOSLIM_TAG_RUN = re.compile(r"(?:<[^<>\n]*>)+ ")
_MOSLIM_TAG_ANYWHERE = re.compile(r"<[A-Za-z_][\w-]* -?\d+>")


class MoslimTagError(ValueError):
    """A prompt's MOSLIM tags are bad: unknown objective, intensity out of 1..n_k, malformed, duplicate, misplaced."""


def moslim_tags(targets: Mapping[str, int]) -> str:
    """``<helpful 3><humor 1>`` for targets {"helpful": 3, "humor": 1}: one tag per objective, in mapping order."""
    if not targets:
        raise MoslimTagError("no MOSLIM targets to tag")
    for objective, intensity in targets.items():
        if not _MOSLIM_TAG.fullmatch(f"<{objective} {intensity}>") or int(intensity) < 1:
            raise MoslimTagError(f"cannot write tag <{objective} {intensity}>: names are words, intensities ≥ 1")
    return "".join(f"<{objective} {int(intensity)}>" for objective, intensity in targets.items())


def _user_text_start(prompt: str) -> int:
    """Where the user's text of the last turn starts: after the last ``\\n\\nHuman: ``, else 0."""
    position = prompt.rfind(HUMAN_MARKER)
    return 0 if position < 0 else position + len(HUMAN_MARKER)


def moslim_prompt(prompt: str, targets: Mapping[str, int]) -> str:
    """The MOSLIM conditioned prompt: tags and one space as a prefix of the user's text (see the block comment)."""
    start = _user_text_start(prompt)
    return f"{prompt[:start]}{moslim_tags(targets)} {prompt[start:]}"


def parse_moslim_tags(prompt: str, levels: Mapping[str, int]) -> Tuple[str, Dict[str, int]]:
    """Split a MOSLIM prompt into (prompt without tags, targets {objective: intensity}) in ``levels`` order.

    ``levels``: objective → number of intensity classes n_k. A prompt without tags gives (prompt, {}).
    Raises ``MoslimTagError`` naming the problem: malformed tag, unknown objective, intensity out of 1..n_k,
    duplicate objective, or a tag outside the prefix of the user's text.
    """
    start = _user_text_start(prompt)
    run = _MOSLIM_TAG_RUN.match(prompt, start)
    found: Dict[str, int] = {}
    end = start
    if run is not None:
        end = run.end()
        for token in re.findall(r"<[^<>\n]*>", run.group(0)):
            found.update(_parsed_tag(token, levels, found))
    stripped = prompt[:start] + prompt[end:]
    stray = _MOSLIM_TAG_ANYWHERE.search(stripped)
    if stray is not None:
        raise MoslimTagError(f"tag {stray.group(0)} is not at the start of the user's text")
    return stripped, {objective: found[objective] for objective in levels if objective in found}


def _parsed_tag(token: str, levels: Mapping[str, int], found: Mapping[str, int]) -> Dict[str, int]:
    match = _MOSLIM_TAG.fullmatch(token)
    if match is None:
        raise MoslimTagError(f"malformed tag {token}: expected <objective n>")
    objective, intensity = match.group(1), int(match.group(2))
    if objective not in levels:
        raise MoslimTagError(f"unknown objective in tag {token}: known are {sorted(levels)}")
    if not 1 <= intensity <= levels[objective]:
        raise MoslimTagError(f"intensity {intensity} of tag {token} is out of 1..{levels[objective]}")
    if objective in found:
        raise MoslimTagError(f"duplicate tag for objective '{objective}': {token}")
    return {objective: intensity}


def random_moslim_targets(rng: random.Random, levels: Mapping[str, int], min_tags: int = 1,
                          max_tags: int = 3) -> Dict[str, int]:
    """MOSLIM §3.2's random targets: k ~ U{min_tags..min(max_tags, K)} objectives, each a uniform intensity in
    1..n_k; returned in ``levels`` order."""
    upper = min(max_tags, len(levels))
    if not 1 <= min_tags <= upper:
        raise ValueError(f"min_tags {min_tags} must lie in 1..{upper} (max_tags {max_tags}, {len(levels)} objectives)")
    chosen = set(rng.sample(list(levels), rng.randint(min_tags, upper)))
    return {objective: rng.randint(1, levels[objective]) for objective in levels if objective in chosen}


# ---------------------------------------------------------------- SGA (Self-Guided Alignment) score text
#
# SGA conditions the prompt on K scores in [0, 1] with two decimals:
#   "\n\nHuman: q\nYour response must satisfy the following scores: <helpful_score:0.75> and
#    <harmless_score:0.12> and <humor_score:0.12>\n\nAssistant:"
# The score text goes after the user turn, before the final "\n\nAssistant:" (appended to a prompt without that
# marker), and starts with a newline so that the text before it tokenises the same alone and inside the
# conditioned prompt: the SGA head reads the last token of that prefix (``sga_split``), so one prefill of the
# prefix gives both the predicted scores and the KV cache the conditioned prompt continues from.

SGA_SCORE_DECIMALS = 2
SGA_INSTRUCTION = "Your response must satisfy the following scores: "


def sga_score_text(objectives: Sequence[str], scores: Sequence[float]) -> str:
    """``\\nYour response must satisfy the following scores: <helpful_score:0.75> and <harmless_score:0.12>``."""
    if len(objectives) == 0 or len(objectives) != len(scores):
        raise ValueError(f"need one score per objective, got {len(scores)} scores for objectives {list(objectives)}")
    tags = " and ".join(f"<{name}_score:{_number(score, SGA_SCORE_DECIMALS)}>" for name, score in zip(objectives, scores))
    return f"\n{SGA_INSTRUCTION}{tags}"


def sga_split(prompt: str) -> tuple:
    """(prefix, suffix): the prompt before and from its last ``\\n\\nAssistant:`` (suffix "" without the marker).
    The score text goes between them; the SGA head reads the last token of the prefix."""
    position = prompt.rfind(ASSISTANT_MARKER)
    return (prompt, "") if position < 0 else (prompt[:position], prompt[position:])


def sga_prompt(prompt: str, objectives: Sequence[str], scores: Sequence[float]) -> str:
    """The SGA conditioned prompt: prefix + ``sga_score_text`` + suffix (see ``sga_split``)."""
    prefix, suffix = sga_split(prompt)
    return f"{prefix}{sga_score_text(objectives, scores)}{suffix}"
