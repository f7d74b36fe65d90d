"""Step 6 of one RL step: from the scalarised reward and the log-probs to what each algorithm's update consumes.

Glue only — every formula is a call into ``pro_rl.algorithms``:

- RLOO (TRL's form): r_i = scalarised_i - beta * sum_t kl_t (the sum of PPO's per-token rewards over the response),
  then the leave-one-out advantage over the n samples of a prompt.
- PPO: per-token rewards (-beta * kl_t, plus the score at the last real token), GAE with the critic's values,
  then masked whitening of the advantages.
- Online DPO: the best and the worst of the n samples of a prompt form its pair.

Inputs are flat (N = B * n), the n samples of a prompt contiguous; ``logprobs`` are the old policy's (no grad).
"""

from __future__ import annotations

import torch
from torch import Tensor

from pro_rl.algorithms import (
    gae_advantages,
    kl_penalty,
    masked_mean,
    masked_whiten,
    rloo_advantages,
    select_best_worst,
    sum_masked,
    token_level_rewards,
)


def _kl_stats(kl: Tensor, response_mask: Tensor) -> dict[str, float]:
    """``kl/mean``: the mean over sequences of the per-token KL estimate summed over each response."""
    return {"kl/mean": float(sum_masked(kl, response_mask).mean())}


@torch.no_grad()
def rloo_sequence_advantages(
    scalarised_reward: Tensor, logprobs: Tensor, ref_logprobs: Tensor, response_mask: Tensor, num_samples: int,
    kl_coef: float, kl_estimator: str = "k1",
) -> tuple[Tensor, dict[str, float]]:
    """Leave-one-out advantages of the KL-penalised sequence rewards.

    Args:
        scalarised_reward: (N,) r = sum_k w_k(x) R_k (eq. 9).
        logprobs, ref_logprobs: (N, R) per-token log-probs under the old policy and the reference.
        response_mask: (N, R) 1 at response tokens.
        num_samples: n samples per prompt.
        kl_coef: beta.
        kl_estimator: "k1", "k2" or "k3".

    Returns:
        ``(advantages (N,), stats)`` with ``kl/mean``, ``reward/penalised/mean`` and ``advantages/std``.
    """
    kl = kl_penalty(logprobs, ref_logprobs, kl_estimator)
    penalised_reward = sum_masked(token_level_rewards(scalarised_reward, kl, response_mask, kl_coef), response_mask)
    advantages = rloo_advantages(penalised_reward, num_samples)
    stats = _kl_stats(kl, response_mask)
    stats["reward/penalised/mean"] = float(penalised_reward.mean())
    stats["advantages/std"] = float(advantages.std()) if advantages.numel() > 1 else 0.0
    return advantages, stats


@torch.no_grad()
def ppo_token_advantages(
    scalarised_reward: Tensor, logprobs: Tensor, ref_logprobs: Tensor, values: Tensor, response_mask: Tensor,
    kl_coef: float, kl_estimator: str = "k1", gamma: float = 1.0, lam: float = 0.95,
) -> tuple[Tensor, Tensor, dict[str, float]]:
    """Whitened GAE advantages and value targets for PPO.

    Args:
        scalarised_reward: (N,) sequence score (eq. 9), placed on the last response token.
        logprobs, ref_logprobs: (N, R) per-token log-probs under the old policy and the reference.
        values: (N, R) the critic's values at generation time (``response_values``).
        response_mask: (N, R) 1 at response tokens.
        kl_coef, kl_estimator: beta and the per-token KL estimator.
        gamma, lam: GAE discount and lambda.

    Returns:
        ``(advantages (N, R), returns (N, R), stats)``; advantages whitened over the real tokens and 0 at padding;
        stats ``kl/mean``, ``advantages/mean`` (before whitening), ``returns/mean``, ``values/mean``.
    """
    kl = kl_penalty(logprobs, ref_logprobs, kl_estimator)
    token_rewards = token_level_rewards(scalarised_reward, kl, response_mask, kl_coef)
    advantages, returns = gae_advantages(token_rewards, values, response_mask, gamma, lam)
    stats = _kl_stats(kl, response_mask)
    stats.update({
        "advantages/mean": float(masked_mean(advantages, response_mask)),
        "returns/mean": float(masked_mean(returns, response_mask)),
        "values/mean": float(masked_mean(values, response_mask)),
    })
    whitened = masked_whiten(advantages, response_mask) * response_mask.to(advantages.dtype)
    return whitened, returns, stats


def dpo_pairs(scalarised_reward: Tensor, num_samples: int) -> tuple[Tensor, Tensor]:
    """``(chosen_index, rejected_index)``, (B,) each: the best and the worst sample of every prompt."""
    return select_best_worst(scalarised_reward, num_samples)
