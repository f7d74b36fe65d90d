"""The interface of a reward source: which scorers the reward role runs, and how their outputs become the reward
matrix R (N × K, one column per objective) that the score stage checks and the loop scalarises with w(x).

A source (``algorithm.reward_source``, registered with ``register_reward_source``) lists ``ScorerSpec``s; the
pipeline starts one reward actor per spec and calls them all at once; each returns one output per
(prompt, response): a float, or a vector (a multi-head classifier, a Python function scoring several objectives).
``reward_matrix`` maps the outputs, by scorer name, to R. Today's source, ``reward_models``, is one scorer per
objective whose floats are R's columns; a multi-head classifier with a head → objective mapping, or one function
returning a K-vector, is a new source of one scorer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Mapping, Sequence

from torch import Tensor


@dataclass(frozen=True)
class ScorerSpec:
    """One reward actor: its name and a picklable ``build(device) -> scorer``; the scorer's
    ``score(prompts, responses)`` returns one float (or one list of floats) per response."""

    name: str
    build: Callable[[str], object]


class RewardSource:
    """Base class of the registered reward sources; built with the run's config. ``name`` is set by the registry.

    Attributes:
        objectives: the K objective names, in the order of R's columns.
    """

    name: str = ""

    def __init__(self, config):
        self.objectives: List[str] = list(config.objectives)

    def scorers(self) -> List[ScorerSpec]:
        raise NotImplementedError

    def reward_matrix(self, outputs: Mapping[str, Sequence]) -> Tensor:
        """(N, K) float32 reward matrix from each scorer's N outputs (keyed by ``ScorerSpec.name``)."""
        raise NotImplementedError
