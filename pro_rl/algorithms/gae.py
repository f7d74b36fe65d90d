"""Per-token rewards and generalised advantage estimation for PPO (the PPO form of PRO-MORLHF, eq. 9).

The sequence reward (the scalarised score of eq. 9) is placed on the last real token, and every token pays the KL
penalty -beta * kl_t. GAE (Schulman et al., 2016) then runs backwards over the real tokens:

    delta_t = r_t + gamma * V_{t+1} - V_t
    A_t     = delta_t + gamma * lambda * A_{t+1}
    returns = A + V

V_{t+1} and A_{t+1} are 0 past the last real token. Advantages are returned raw: whitening them with
``masked_whiten`` is the caller's step.

Where the score goes: on the last real response token (its eos when the model stopped, else the last token it was
allowed). TRL's PPO trainer put it at the first padding slot instead, which for a response that filled
``max_new_tokens`` is one past the end (its issue #3750). We keep the last real token: it is the action that
completed the response, the critic has a value there, and every row gets its score inside the mask, so no reward
is lost to truncation and GAE sees it at the same step for truncated and stopped responses alike.
"""

from __future__ import annotations

import torch
from torch import Tensor


def last_token_index(mask: Tensor) -> Tensor:
    """(B,) index of the last position where ``mask`` (B, T) is 1; -1 for an all-zero row."""
    positions = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    return torch.where(mask.bool(), positions, torch.full_like(positions, -1)).max(dim=1).values


def token_level_rewards(scores: Tensor, kl: Tensor, mask: Tensor, kl_coef: float) -> Tensor:
    """Per-token PPO reward: ``-kl_coef * kl_t`` at each real token, plus the score at the last real token.

    Args:
        scores: (B,) sequence rewards (already scalarised, eq. 9).
        kl: (B, T) per-token KL estimate (``kl_penalty``).
        mask: (B, T) 1 at response tokens, 0 at padding.
        kl_coef: beta.

    Returns:
        (B, T) rewards, 0 at padded positions.
    """
    if kl.shape != mask.shape or scores.shape != kl.shape[:1]:
        raise ValueError(
            f"expected scores (B,), kl and mask (B, T); got {tuple(scores.shape)}, {tuple(kl.shape)}, "
            f"{tuple(mask.shape)}"
        )
    mask = mask.to(kl.dtype)
    rewards = -kl_coef * kl * mask
    last = last_token_index(mask)
    has_tokens = last >= 0
    rows = torch.arange(kl.shape[0], device=kl.device)[has_tokens]
    rewards[rows, last[has_tokens]] += scores[has_tokens].to(kl.dtype)
    return rewards


def gae_advantages(
    token_rewards: Tensor, values: Tensor, mask: Tensor, gamma: float = 1.0, lam: float = 0.95
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimates and value targets.

    Args:
        token_rewards: (B, T) per-token rewards (``token_level_rewards``).
        values: (B, T) critic values V_t.
        mask: (B, T) 1 at real tokens; values and rewards at padded positions are treated as 0.
        gamma: discount.
        lam: GAE lambda.

    Returns:
        ``(advantages, returns)``, each (B, T), 0 at padded positions; ``returns = advantages + values``.
    """
    if not (token_rewards.shape == values.shape == mask.shape):
        raise ValueError(
            f"token_rewards {tuple(token_rewards.shape)}, values {tuple(values.shape)} and mask "
            f"{tuple(mask.shape)} must have the same shape"
        )
    mask = mask.to(values.dtype)
    values = values * mask
    token_rewards = token_rewards * mask
    length = values.shape[1]
    advantages_reversed = []
    next_value = torch.zeros_like(values[:, 0])
    next_advantage = torch.zeros_like(values[:, 0])
    for t in reversed(range(length)):
        delta = token_rewards[:, t] + gamma * next_value - values[:, t]
        advantage = (delta + gamma * lam * next_advantage) * mask[:, t]
        advantages_reversed.append(advantage)
        next_value = values[:, t]
        next_advantage = advantage
    advantages = torch.stack(advantages_reversed[::-1], dim=1)
    returns = (advantages + values) * mask
    return advantages.detach(), returns.detach()
