"""The interface of an RL algorithm: one object that says what a policy update needs, builds it, and runs it.

An algorithm (``algorithm.name`` in the config, registered with ``register_algorithm``) answers four questions:

- ``rows_per_update(config)``: how many rows one policy update takes (sequences, or pairs for online DPO); the
  policy and critic engines are sized with it.
- ``needs_critic`` / ``needs_old_logprobs``: whether the run starts a critic role and whether the loop asks the
  policy for the sampling policy's log-probs before the update; ``min_samples_per_prompt``: the smallest
  ``rollout.num_samples`` it can learn from (config validation reads it).
- ``build_update(experience, config, kl_coef)``: from the step's ``Experience`` to ``UpdateBatches`` (driver side,
  no model needed, so it is unit-testable with tensors alone).
- ``update_policy(batch, context)`` (and ``update_critic``): the loss and optimizer steps on the engine the actor
  holds; ``context`` gives the engine and a way to pad ids on its device.

The statistics of ``build_update`` or of the policy update must include ``kl/mean`` (the KL per sequence that the
adaptive KL controller follows; ``pro_rl.training.rl_advantages.kl_stats`` gives it with ``kl/token_mean``).
Algorithm objects hold no state between calls; the settings come from ``config.algorithm`` at each call. They are
pickled into the policy and critic actors, so a class registered in a user's script needs no import there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Sequence

import torch

from pro_rl.rl.batches import CriticBatch, Experience, UpdateBatches


@dataclass
class UpdateContext:
    """What a training actor lends an algorithm's update.

    Attributes:
        engine: the role's ``TrainEngine``.
        sequences: (prompt ids, response ids) → a padded ``SequenceBatch`` on the engine's device.
        device: the engine's device (move the batch's tensors there).
        config: the run's ``ProRLConfig`` (``config.algorithm`` holds the algorithm's settings).
        temperature: the sampling temperature (log-probs are taken at it).
        seed: this step's seed (mini-batch order).
    """

    engine: object
    sequences: Callable[[Sequence[Sequence[int]], Sequence[Sequence[int]]], object]
    device: torch.device
    config: object
    temperature: float
    seed: int

    @property
    def batch_sizes(self) -> Dict[str, int]:
        """``mini_batch_size`` and ``micro_batch_size`` keywords of the ``rl_update`` functions."""
        return {"mini_batch_size": self.config.algorithm.mini_batch_size,
                "micro_batch_size": self.config.trainer.micro_batch_size}


class RLAlgorithm:
    """Base class of the registered algorithms (see the module docstring); ``name`` is set by the registry."""

    name: str = ""
    needs_critic: bool = False
    needs_old_logprobs: bool = True
    min_samples_per_prompt: int = 1

    def rows_per_update(self, config) -> int:
        """Rows of one policy update: by default every sampled sequence of a step."""
        return config.algorithm.prompt_batch_size * config.rollout.num_samples

    def build_update(self, experience: Experience, config, kl_coef: float) -> UpdateBatches:
        raise NotImplementedError

    def update_policy(self, batch, context: UpdateContext) -> Dict[str, float]:
        raise NotImplementedError

    def update_critic(self, batch: CriticBatch, context: UpdateContext) -> Dict[str, float]:
        raise NotImplementedError(f"algorithm '{self.name}' has no critic")
