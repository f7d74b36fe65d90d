"""RLOO (TRL's form) as a registered algorithm: leave-one-out advantages of the KL-penalised sequence reward, and a
clipped loss on one ratio per sequence (``pro_rl.algorithms.rloo``).

Update batch: ``PolicyGradientBatch`` with (N,) advantages. Needs the sampling policy's log-probs; no critic.
Skipped samples (NaN/inf reward) leave their prompt's baseline and get advantage 0; ``algorithm.normalize_advantages``
whitens the advantages over the batch (TRL's ``normalize_advantages``). One epoch per step, as in TRL.
"""

from __future__ import annotations

from typing import Dict

from pro_rl.rl.algorithm import RLAlgorithm, UpdateContext
from pro_rl.rl.batches import Experience, PolicyGradientBatch, UpdateBatches
from pro_rl.rl.registry import register_algorithm
from pro_rl.training.rl_advantages import rloo_sequence_advantages
from pro_rl.training.rl_update import rloo_update


@register_algorithm("rloo")
class RLOO(RLAlgorithm):
    min_samples_per_prompt = 2  # a comparison within the prompt's samples

    def build_update(self, experience: Experience, config, kl_coef: float) -> UpdateBatches:
        settings, rollouts = config.algorithm, experience.rollouts
        advantages, stats = rloo_sequence_advantages(
            experience.scalarised_reward, experience.old_logprobs, experience.ref_logprobs, experience.response_mask,
            experience.num_samples, kl_coef, settings.kl_estimator, valid=experience.valid,
            normalize_advantages=settings.normalize_advantages)
        batch = PolicyGradientBatch(rollouts.prompt_ids, rollouts.response_ids, experience.old_logprobs, advantages)
        return UpdateBatches(policy=batch, stats=stats)

    def update_policy(self, batch: PolicyGradientBatch, context: UpdateContext) -> Dict[str, float]:
        return rloo_update(context.engine, context.sequences(batch.prompt_ids, batch.response_ids),
                           batch.old_logprobs.to(context.device), batch.advantages.to(context.device),
                           context.config.algorithm.clip_eps, epochs=1, temperature=context.temperature,
                           seed=context.seed, **context.batch_sizes)
