"""Version 2 of the toy world: the same texts, rewards with a small graded term, so that quantile filters select.

In version 1 (``toy_world``) every objective's reward takes a few values (1 or 0, minus 0.3 per other objective's
segment), so many samples tie at any quantile and RiC's filter (``pro_rl.algorithms.rejection.quantile_filter``:
keep a sample when any objective reaches its q-quantile) keeps nearly every sample. Version 2 adds to every
objective's reward the same graded term

    g(y) = QUALITY_WEIGHT · quality(y) − LENGTH_COST · words(y)

quality(y): the mean grade of the objective segments y carries (the i-th of an objective's n segment templates has
grade i / (n − 1), so 0 for the first and 1 for the last; 0 without any objective segment); words(y): the number of
whitespace-separated words of y. The term is small (at most 0.1 for quality; 0.1 for a 20-word response) and the
same for every objective, so under any weight vector on the simplex the scalarised reward is version 1's plus g(y):
the Pareto trade-offs of version 1 are unchanged, and the best response to x is still a single segment of the kind
w*(x) favours, now the top-graded template said briefly. What changes is that ties break: each objective's
q-quantile filter keeps close to 1 − q of the samples (measured in ``docs/comparisons.md``). RiC's rule keeps a
sample when *any* objective reaches its quantile, so with K objectives and samples that each serve one objective it
still keeps up to K·(1 − q) of them.

The world's files are version 1's (``toy_world.shipped_dir()``, named by ``${toy_world:...}`` in configs): only the
rewards differ. A config selects version 2 by naming its reward functions,
``pro_rl.data.toy_world_graded:<objective>_reward``, which the resolved ``config.yaml`` records; ``world_version``
reads the version back from a config's reward models, for reports. Version 1's functions, files and numbers are
unchanged.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, Optional, Sequence

from pro_rl.data.toy_world import WORLD
from pro_rl.data.world_generator import World, WorldSpec

VERSION = 2
QUALITY_WEIGHT = 0.1
LENGTH_COST = 0.005
REWARD_MODULES = {"pro_rl.data.toy_world": 1, "pro_rl.data.toy_world_graded": VERSION}  # module → world version


class GradedWorld(World):
    """A ``World`` whose objective rewards all carry the graded term g(y) of the module docstring."""

    def __init__(self, spec: WorldSpec, quality_weight: float = QUALITY_WEIGHT, length_cost: float = LENGTH_COST):
        super().__init__(spec)
        if quality_weight < 0 or length_cost < 0:
            raise ValueError(f"quality_weight and length_cost must be ≥ 0, got {quality_weight}, {length_cost}")
        self.quality_weight, self.length_cost = quality_weight, length_cost

    def quality(self, response: str) -> float:
        """Mean grade i / (n − 1) of the objective segments the response carries (every occurrence counts); 0 if none."""
        grades = [index / max(len(patterns) - 1, 1) for patterns in self.segment_patterns.values()
                  for index, pattern in enumerate(patterns) for _ in pattern.findall(response)]
        return sum(grades) / len(grades) if grades else 0.0

    def graded_term(self, response: str) -> float:
        """g(y) = quality_weight · quality(y) − length_cost · words(y)."""
        return self.quality_weight * self.quality(response) - self.length_cost * len(response.split())

    def objective_rewards(self, response: str) -> Dict[str, float]:
        """Version 1's rewards (``World.objective_rewards``) plus g(y) on every objective."""
        graded = self.graded_term(response)
        return {objective: reward + graded for objective, reward in super().objective_rewards(response).items()}


WORLD_GRADED = GradedWorld(replace(WORLD.spec, name="toy_world_graded"))
"""The shipped toy world's vocabulary and files with version 2's rewards."""

objective_rewards = WORLD_GRADED.objective_rewards
scalarised_truth = WORLD_GRADED.scalarised_truth
helpful_reward = WORLD_GRADED.reward_function("helpful")
harmless_reward = WORLD_GRADED.reward_function("harmless")
humor_reward = WORLD_GRADED.reward_function("humor")


def world_version(reward_models: Sequence) -> Optional[str]:
    """"toy_world v1" or "toy_world v2 (graded)" when every reward model of a config (``reward_models`` entries with
    a ``model``) is a function of that version of the toy world; "mixed toy_world versions" when they differ (or only
    some are toy-world functions); None when none is (reward models, generated worlds)."""
    versions = {REWARD_MODULES.get(str(spec.model).partition(":")[0]) for spec in reward_models}
    if versions == {1}:
        return "toy_world v1"
    if versions == {VERSION}:
        return f"toy_world v{VERSION} (graded)"
    return "mixed toy_world versions" if len(versions) > 1 else None
