"""The toy world's graded intensities, for MOSLIM (see the "Graded intensities" paragraph of ``toy_world``).

A response expresses objective k with the intensity c_k = the number of k's segments it carries
(``objective_intensities``); the intensity class 1..n_k is ``intensity_class(c_k, n_k)``, with n_k = ``MOSLIM_LEVELS[k]``;
``moslim_rows`` draws MOSLIM classifier rows with 0..n_k − 1 segments of each kind.
"""

from __future__ import annotations

import random
from typing import Dict, List

from pro_rl.data.toy_world import CATEGORIES, OBJECTIVES, SEGMENT_PATTERNS, _question, _response, format_prompt

MOSLIM_LEVELS = {"helpful": 3, "harmless": 2, "humor": 3}  # objective → number of intensity classes n_k


def objective_intensities(response: str) -> Dict[str, int]:
    """Ground-truth intensity of each objective: how many whole segments of its kind the response carries."""
    return {kind: sum(len(pattern.findall(response)) for pattern in SEGMENT_PATTERNS[kind]) for kind in OBJECTIVES}


def intensity_class(count: int, levels: int) -> int:
    """The intensity class 1..levels of a segment count: min(count, levels − 1) + 1 (1 = the objective is absent)."""
    if levels < 1 or count < 0:
        raise ValueError(f"intensity_class needs count ≥ 0 and levels ≥ 1, got {count}, {levels}")
    return min(count, levels - 1) + 1


def moslim_response(rng: random.Random, counts: Dict[str, int]) -> str:
    """A response carrying ``counts[k]`` segments of each objective k (plus an optional filler), in random order."""
    kinds = [kind for kind, count in counts.items() for _ in range(count)]
    kinds += ["filler"] * (rng.random() < 0.3 or not kinds)
    rng.shuffle(kinds)
    return _response(rng, kinds)


def moslim_rows(count: int, seed: int = 0, levels: Dict[str, int] | None = None,
                unlabelled_probability: float = 0.15) -> List[dict]:
    """``count`` seeded MOSLIM classifier rows {"prompt", "response", "labels": {objective: class 1..n_k or None}}.

    Each objective's segment count is uniform in 0..n_k − 1 (so every class is equally likely); each label is
    None with ``unlabelled_probability`` (at least one label per row is kept).
    """
    levels = dict(MOSLIM_LEVELS if levels is None else levels)
    unknown = set(levels) - set(OBJECTIVES)
    if unknown:
        raise ValueError(f"the toy world has no objectives {sorted(unknown)}; it has {list(OBJECTIVES)}")
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        counts = {objective: rng.randrange(levels[objective]) for objective in levels}
        response = moslim_response(rng, counts)
        truth = objective_intensities(response)
        labels = {objective: intensity_class(truth[objective], levels[objective]) for objective in levels}
        kept = rng.choice(list(levels))
        for objective in levels:
            if objective != kept and rng.random() < unlabelled_probability:
                labels[objective] = None
        rows.append({"prompt": format_prompt(_question(rng, rng.choice(CATEGORIES))), "response": response,
                     "labels": labels})
    return rows
