"""PPO as a registered algorithm: per-token rewards (-beta * kl_t, the scalarised score at the last real token),
GAE with the critic's values, whitened advantages, token-level clipped policy loss and clipped value loss
(``pro_rl.algorithms.gae`` / ``ppo``).

Update batches: ``PolicyGradientBatch`` with (N, R) advantages and a ``CriticBatch``. Needs the sampling policy's
log-probs and a critic; ``algorithm.ppo_epochs`` passes over each batch. A skipped sample (NaN/inf reward) gets
zero advantage and its own values as targets; the rest of its prompt's samples train as usual.
"""

from __future__ import annotations

from typing import Dict

from pro_rl.rl.algorithm import RLAlgorithm, UpdateContext
from pro_rl.rl.batches import CriticBatch, Experience, PolicyGradientBatch, UpdateBatches
from pro_rl.rl.registry import register_algorithm
from pro_rl.training.rl_advantages import ppo_token_advantages
from pro_rl.training.rl_update import ppo_critic_update, ppo_policy_update


@register_algorithm("ppo")
class PPO(RLAlgorithm):
    needs_critic = True

    def build_update(self, experience: Experience, config, kl_coef: float) -> UpdateBatches:
        settings, rollouts = config.algorithm, experience.rollouts
        advantages, returns, stats = ppo_token_advantages(
            experience.scalarised_reward, experience.old_logprobs, experience.ref_logprobs, experience.values,
            experience.response_mask, kl_coef, settings.kl_estimator, settings.gamma, settings.lam,
            valid=experience.valid)
        ids = (rollouts.prompt_ids, rollouts.response_ids)
        return UpdateBatches(policy=PolicyGradientBatch(*ids, experience.old_logprobs, advantages),
                             critic=CriticBatch(*ids, experience.values, returns), stats=stats)

    def update_policy(self, batch: PolicyGradientBatch, context: UpdateContext) -> Dict[str, float]:
        settings = context.config.algorithm
        return ppo_policy_update(context.engine, context.sequences(batch.prompt_ids, batch.response_ids),
                                 batch.old_logprobs.to(context.device), batch.advantages.to(context.device),
                                 settings.clip_eps, epochs=settings.ppo_epochs, temperature=context.temperature,
                                 seed=context.seed, **context.batch_sizes)

    def update_critic(self, batch: CriticBatch, context: UpdateContext) -> Dict[str, float]:
        settings = context.config.algorithm
        return ppo_critic_update(context.engine, context.sequences(batch.prompt_ids, batch.response_ids),
                                 batch.old_values.to(context.device), batch.returns.to(context.device),
                                 settings.value_clip_eps, epochs=settings.ppo_epochs, vf_coef=settings.vf_coef,
                                 seed=context.seed, **context.batch_sizes)
