"""Pure torch functions for multi-objective RLHF: every formula of pro-rl lives in exactly one function here.

See each module's docstring for the paper equation it implements (PRO eq. 2, 4, 7, 8, 9 and the PPO/RLOO/DPO
losses of the peers).
"""

from pro_rl.algorithms.bradley_terry import bradley_terry_loss, pair_accuracy
from pro_rl.algorithms.dpo import dpo_loss, select_best_worst
from pro_rl.algorithms.gae import gae_advantages, token_level_rewards
from pro_rl.algorithms.gate import gate_bradley_terry_loss, gate_margins
from pro_rl.algorithms.kl import AdaptiveKLController, FixedKLController, kl_penalty
from pro_rl.algorithms.logprobs import sequence_token_logprobs, sum_masked
from pro_rl.algorithms.masked import masked_mean, masked_var, masked_whiten
from pro_rl.algorithms.mora import (PromptStatistics, detection_scores, max_margin_pairs, pareto_coverage,
                                   prompt_statistics, reward_dimension_variance, single_reward_mask)
from pro_rl.algorithms.normalisation import RunningNormaliser, zscore, zscore_stats
from pro_rl.algorithms.orchestrator import orchestrator_loss, orchestrator_metrics, orchestrator_targets
from pro_rl.algorithms.pareto import hypervolume, pareto_mask
from pro_rl.algorithms.ppo import ppo_policy_loss, ppo_value_loss
from pro_rl.algorithms.rloo import rloo_advantages, samples_with_baseline, sequence_clipped_loss
from pro_rl.algorithms.scalarisation import scalarise
from pro_rl.algorithms.simplex import argmax_agreement, weight_entropy

__all__ = [
    "AdaptiveKLController",
    "FixedKLController",
    "PromptStatistics",
    "RunningNormaliser",
    "argmax_agreement",
    "bradley_terry_loss",
    "detection_scores",
    "dpo_loss",
    "gae_advantages",
    "gate_bradley_terry_loss",
    "gate_margins",
    "hypervolume",
    "kl_penalty",
    "masked_mean",
    "masked_var",
    "masked_whiten",
    "max_margin_pairs",
    "orchestrator_loss",
    "orchestrator_metrics",
    "orchestrator_targets",
    "pair_accuracy",
    "pareto_coverage",
    "pareto_mask",
    "ppo_policy_loss",
    "ppo_value_loss",
    "prompt_statistics",
    "reward_dimension_variance",
    "rloo_advantages",
    "samples_with_baseline",
    "scalarise",
    "select_best_worst",
    "sequence_clipped_loss",
    "sequence_token_logprobs",
    "single_reward_mask",
    "sum_masked",
    "token_level_rewards",
    "weight_entropy",
    "zscore",
    "zscore_stats",
]
