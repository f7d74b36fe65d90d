"""Online DPO (TRL's form) as a registered algorithm: per prompt, the best and the worst of its n samples by
scalarised reward form a pair, trained with the DPO or IPO loss against the reference (``pro_rl.algorithms.dpo``).

Update batch: ``PreferenceBatch`` of one pair per prompt, so an update takes ``prompt_batch_size`` rows. Needs no
old-policy pass (one epoch of one mini-batch: the policy as it sampled; ``kl/mean`` comes from the loss's own
forward passes) and no critic. Skipped samples (NaN/inf reward) are never picked; a prompt with fewer than 2 valid
samples gets the pair (i, i), whose loss has zero gradient.
"""

from __future__ import annotations

from typing import Dict

from pro_rl.algorithms import sum_masked
from pro_rl.rl.algorithm import RLAlgorithm, UpdateContext
from pro_rl.rl.batches import Experience, PreferenceBatch, UpdateBatches, rows
from pro_rl.rl.registry import register_algorithm
from pro_rl.training.rl_advantages import dpo_pairs
from pro_rl.training.rl_update import dpo_update


@register_algorithm("online_dpo")
class OnlineDPO(RLAlgorithm):
    min_samples_per_prompt = 2  # a comparison within the prompt's samples
    needs_old_logprobs = False

    def rows_per_update(self, config) -> int:
        return config.algorithm.prompt_batch_size

    def build_update(self, experience: Experience, config, kl_coef: float) -> UpdateBatches:
        rollouts, scalarised = experience.rollouts, experience.scalarised_reward
        chosen, rejected = dpo_pairs(scalarised, experience.num_samples, experience.valid)
        ref_sequence = sum_masked(experience.ref_logprobs, experience.response_mask)
        batch = PreferenceBatch(
            chosen_prompt_ids=rows(rollouts.prompt_ids, chosen), chosen_response_ids=rows(rollouts.response_ids, chosen),
            rejected_prompt_ids=rows(rollouts.prompt_ids, rejected),
            rejected_response_ids=rows(rollouts.response_ids, rejected),
            ref_chosen_logps=ref_sequence[chosen], ref_rejected_logps=ref_sequence[rejected])
        margin = (scalarised[chosen] - scalarised[rejected]).mean().item()
        return UpdateBatches(policy=batch, stats={"dpo/scalarised_margin": margin})

    def update_policy(self, batch: PreferenceBatch, context: UpdateContext) -> Dict[str, float]:
        settings = context.config.algorithm
        return dpo_update(context.engine, context.sequences(*batch.sequences()),
                          batch.ref_chosen_logps.to(context.device), batch.ref_rejected_logps.to(context.device),
                          settings.dpo_beta, settings.dpo_loss, epochs=1, temperature=context.temperature,
                          seed=context.seed, **context.batch_sizes)
