"""The ``reward_models`` reward source: K reward models or ``module:function`` rewards, one per objective
(``reward_models`` in the config); each one's scores are a column of R."""

from __future__ import annotations

from functools import partial
from typing import List, Mapping, Sequence

import torch
from torch import Tensor

from pro_rl.rl.registry import register_reward_source
from pro_rl.rl.reward_source import RewardSource, ScorerSpec


def build_reward_scorer(spec, device: str):
    """A ``RewardScorer`` for one ``RewardModelConfig`` (imported here: only reward actors load models)."""
    from pro_rl.models.scoring import RewardScorer

    return RewardScorer(spec, device=device)


@register_reward_source("reward_models")
class RewardModels(RewardSource):
    def __init__(self, config):
        super().__init__(config)
        self.specs = list(config.reward_models)

    def scorers(self) -> List[ScorerSpec]:
        return [ScorerSpec(spec.name, partial(build_reward_scorer, spec)) for spec in self.specs]

    def reward_matrix(self, outputs: Mapping[str, Sequence]) -> Tensor:
        return torch.tensor([list(outputs[name]) for name in self.objectives], dtype=torch.float32).T.contiguous()
