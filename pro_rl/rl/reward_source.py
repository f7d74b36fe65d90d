"""The interface of a reward source: which scorers the reward role runs, and how their outputs become the reward
matrix R (N × K, one column per objective) that the score stage checks and the loop scalarises with w(x).

A source (``algorithm.reward_source``, registered with ``register_reward_source``) lists ``ScorerSpec``s; the
pipeline starts one reward actor per spec and calls them all at once; each returns one output per
(prompt, response): a float, or a vector (a multi-head classifier, a Python function scoring several objectives).
``reward_matrix`` maps the outputs, by scorer name, to R. Today's source, ``reward_models``, is one scorer per
objective whose floats are R's columns; a multi-head classifier with a head → objective mapping, or one function
returning a K-vector, is a new source of one scorer.

Optional seams, each with a default that leaves the loop as it is (the driver calls them on every source, never
asking which source it has): ``check_prompts`` (load time: refuse or drop prompts the source cannot score),
``condition_prompts`` (each step's batch, e.g. MOSLIM's random tags), ``prompt_weights`` (per-prompt weights when
``weights.mode: reward_source``; only sources with ``provides_weights``), ``objective_mask`` (which objectives a
prompt's reward counts, for ``reward/<objective>/mean``), ``step_metrics`` (the source's own numbers of the last
``reward_matrix``), and ``state_dict`` / ``load_state_dict`` (running statistics, checkpointed with the loop state).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence

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

    # --- optional seams (defaults: no change to the loop) ------------------------------------------------------

    provides_weights: bool = False  # True: ``prompt_weights`` gives w(x) (``weights.mode: reward_source``)

    def check_prompts(self, prompts: List[str], origin: str) -> List[str]:
        """The run's (rendered) prompts, checked at load time before any actor starts: a prompt the source cannot
        score is an error naming ``origin`` (the file) and the row, or dropped and counted. Default: all kept."""
        return prompts

    def condition_prompts(self, prompts: List[str], seed: int) -> List[str]:
        """One step's batch of prompts as the policy sees them (``seed``: the step's seed). Default: unchanged."""
        return prompts

    def prompt_weights(self, prompts: Sequence[str]) -> Tensor:
        """(B, K) per-prompt weights, for ``weights.mode: reward_source`` (sources with ``provides_weights``)."""
        raise NotImplementedError(f"reward source '{self.name}' gives no per-prompt weights")

    def objective_mask(self, prompts: Sequence[str]) -> Optional[Tensor]:
        """(B, K) bool: which objectives each prompt's reward counts (``reward/<objective>/mean`` averages over
        those only); None: all of them."""
        return None

    def step_metrics(self) -> Dict[str, float]:
        """The source's own metrics of its last ``reward_matrix`` call, logged with the step's. Default: none."""
        return {}

    def state_dict(self) -> dict:
        """JSON-serialisable state saved with the loop state in every checkpoint. Default: none."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what ``state_dict`` returned (an empty dict from a run saved before the source had state)."""
