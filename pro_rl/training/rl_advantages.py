"""Step 6 of one RL step: from the scalarised reward and the log-probs to what each algorithm's update consumes.

Glue only — every formula is a call into ``pro_rl.algorithms``:

- RLOO (TRL's form): r_i = scalarised_i - beta * sum_t kl_t (the sum of PPO's per-token rewards over the response),
  then the leave-one-out advantage over the n samples of a prompt.
- PPO: per-token rewards (-beta * kl_t, plus the score at the last real token), GAE with the critic's values,
  then masked whitening of the advantages.
- Online DPO: the best and the worst of the n samples of a prompt form its pair.

Inputs are flat (N = B * n), the n samples of a prompt contiguous; ``logprobs`` are the old policy's (no grad).
``valid`` (N,) marks samples whose rewards were finite; the others are skipped as TRL does: RLOO leaves them out of
their prompt's baseline, PPO gives them zero advantage, DPO never picks them.

KL statistics: ``kl/seq_mean`` (and its old name ``kl/mean``, DESIGN.md's metric contract) is the per-token estimate
summed over each response, averaged over sequences; ``kl/token_mean`` is TRL's, the mean over all response tokens.
The adaptive KL controller follows ``kl/seq_mean`` (its target is nats per sequence).
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
    samples_with_baseline,
    select_best_worst,
    sum_masked,
    token_level_rewards,
)


def kl_stats(kl: Tensor, response_mask: Tensor) -> dict[str, float]:
    """``kl/seq_mean`` = ``kl/mean`` (sum over each response, mean over sequences) and ``kl/token_mean`` (mean
    over response tokens); see the module docstring."""
    sequence_mean = float(sum_masked(kl, response_mask).mean())
    return {"kl/mean": sequence_mean, "kl/seq_mean": sequence_mean,
            "kl/token_mean": float(masked_mean(kl, response_mask))}


@torch.no_grad()
def rloo_sequence_advantages(
    scalarised_reward: Tensor, logprobs: Tensor, ref_logprobs: Tensor, response_mask: Tensor, num_samples: int,
    kl_coef: float, kl_estimator: str = "k1", valid: Tensor | None = None, normalize_advantages: bool = False,
) -> tuple[Tensor, dict[str, float]]:
    """Leave-one-out advantages of the KL-penalised sequence rewards.

    Args:
        scalarised_reward: (N,) r = sum_k w_k(x) R_k (eq. 9).
        logprobs, ref_logprobs: (N, R) per-token log-probs under the old policy and the reference.
        response_mask: (N, R) 1 at response tokens.
        num_samples: n samples per prompt.
        kl_coef: beta.
        kl_estimator: "k1", "k2" or "k3".
        valid: (N,) bool, False for skipped samples (left out of their prompt's baseline, advantage 0); ``None``:
            all valid.
        normalize_advantages: whiten the advantages over the batch's counted samples (TRL's
            ``normalize_advantages``).

    Returns:
        ``(advantages (N,), stats)`` with the KL statistics, ``reward/penalised/mean`` and ``advantages/std``
        (before whitening).
    """
    kl = kl_penalty(logprobs, ref_logprobs, kl_estimator)
    penalised_reward = sum_masked(token_level_rewards(scalarised_reward, kl, response_mask, kl_coef), response_mask)
    advantages = rloo_advantages(penalised_reward, num_samples, valid)
    stats = kl_stats(kl, response_mask)
    stats["reward/penalised/mean"] = float(penalised_reward.mean())
    stats["advantages/std"] = float(advantages.std()) if advantages.numel() > 1 else 0.0
    if normalize_advantages:
        counted = (torch.ones_like(advantages, dtype=torch.bool) if valid is None
                   else samples_with_baseline(valid, num_samples))
        if int(counted.sum()) >= 2:
            advantages = masked_whiten(advantages, counted) * counted.to(advantages.dtype)
    return advantages, stats


@torch.no_grad()
def ppo_token_advantages(
    scalarised_reward: Tensor, logprobs: Tensor, ref_logprobs: Tensor, values: Tensor, response_mask: Tensor,
    kl_coef: float, kl_estimator: str = "k1", gamma: float = 1.0, lam: float = 0.95, valid: Tensor | None = None,
) -> tuple[Tensor, Tensor, dict[str, float]]:
    """Whitened GAE advantages and value targets for PPO.

    Args:
        scalarised_reward: (N,) sequence score (eq. 9), placed on the last response token.
        logprobs, ref_logprobs: (N, R) per-token log-probs under the old policy and the reference.
        values: (N, R) the critic's values at generation time (``response_values``).
        response_mask: (N, R) 1 at response tokens.
        kl_coef, kl_estimator: beta and the per-token KL estimator.
        gamma, lam: GAE discount and lambda.
        valid: (N,) bool, False for skipped samples: zero advantage, left out of the whitening statistics, and
            their value targets are the critic's own values (no push); ``None``: all valid.

    Returns:
        ``(advantages (N, R), returns (N, R), stats)``; advantages whitened over the real tokens and 0 at padding;
        stats: the KL statistics, ``advantages/mean`` (before whitening), ``returns/mean``, ``values/mean``.
    """
    kl = kl_penalty(logprobs, ref_logprobs, kl_estimator)
    token_rewards = token_level_rewards(scalarised_reward, kl, response_mask, kl_coef)
    advantages, returns = gae_advantages(token_rewards, values, response_mask, gamma, lam)
    stats = kl_stats(kl, response_mask)
    stats.update({
        "advantages/mean": float(masked_mean(advantages, response_mask)),
        "returns/mean": float(masked_mean(returns, response_mask)),
        "values/mean": float(masked_mean(values, response_mask)),
    })
    trained_mask = response_mask if valid is None else response_mask * valid[:, None].to(response_mask.dtype)
    whitened = masked_whiten(advantages, trained_mask) * trained_mask.to(advantages.dtype)
    if valid is not None:
        returns = torch.where(valid[:, None], returns, values)
    return whitened, returns, stats


def dpo_pairs(scalarised_reward: Tensor, num_samples: int, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(chosen_index, rejected_index)``, (B,) each: the best and the worst valid sample of every prompt
    (``select_best_worst``; (i, i) for a prompt with fewer than 2 valid samples)."""
    return select_best_worst(scalarised_reward, num_samples, valid)
