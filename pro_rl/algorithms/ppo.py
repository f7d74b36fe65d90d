"""PPO clipped losses at token level, for the PPO form of PRO-MORLHF (eq. 9).

Policy loss (Schulman et al., 2017), with ratio rho_t = exp(log pi_theta - log pi_old) per token:

    L_pi = masked_mean( max(-A_t * rho_t, -A_t * clip(rho_t, 1 - eps, 1 + eps)) )

Value loss with the value-clipping of the OpenAI/TRL implementation:

    L_V = 1/2 * masked_mean( max((V - R)^2, (clip(V, V_old - eps, V_old + eps) - R)^2) )

Both are means over all real tokens of the batch (token-level averaging).
"""

from __future__ import annotations

import torch
from torch import Tensor

from pro_rl.algorithms.masked import masked_mean


def ppo_policy_loss(
    logprobs: Tensor, old_logprobs: Tensor, advantages: Tensor, mask: Tensor, clip_eps: float = 0.2
) -> tuple[Tensor, dict[str, float]]:
    """Clipped surrogate policy loss.

    Args:
        logprobs: (B, T) log-probs of the sampled tokens under the current policy (with grad).
        old_logprobs: (B, T) the same under the policy that generated them.
        advantages: (B, T) advantages (usually whitened).
        mask: (B, T) 1 at response tokens.
        clip_eps: epsilon of the ratio clip.

    Returns:
        ``(loss, stats)``: scalar loss; stats ``clipfrac`` (share of real tokens where the clipped term was the
        larger loss) and ``approx_kl`` (masked mean of 1/2 (log pi - log pi_old)^2).
    """
    log_ratio = logprobs - old_logprobs
    ratio = torch.exp(log_ratio)
    unclipped = -advantages * ratio
    clipped = -advantages * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    loss = masked_mean(torch.maximum(unclipped, clipped), mask)
    with torch.no_grad():
        clipfrac = masked_mean((clipped > unclipped).to(logprobs.dtype), mask)
        approx_kl = masked_mean(0.5 * log_ratio**2, mask)
    return loss, {"clipfrac": float(clipfrac), "approx_kl": float(approx_kl)}


def ppo_value_loss(
    values: Tensor, old_values: Tensor, returns: Tensor, mask: Tensor, clip_eps: float = 0.2
) -> tuple[Tensor, dict[str, float]]:
    """Clipped value loss.

    Args:
        values: (B, T) current critic values (with grad).
        old_values: (B, T) critic values at generation time.
        returns: (B, T) GAE returns (targets R).
        mask: (B, T) 1 at response tokens.
        clip_eps: how far V may move from V_old before the clipped error takes over.

    Returns:
        ``(loss, stats)``: scalar loss; stats ``vf_clipfrac`` (share of real tokens where the clipped error was the
        larger) and ``value_mean`` (masked mean of V).
    """
    clipped_values = torch.clamp(values, old_values - clip_eps, old_values + clip_eps)
    unclipped_error = (values - returns) ** 2
    clipped_error = (clipped_values - returns) ** 2
    loss = 0.5 * masked_mean(torch.maximum(unclipped_error, clipped_error), mask)
    with torch.no_grad():
        vf_clipfrac = masked_mean((clipped_error > unclipped_error).to(values.dtype), mask)
        value_mean = masked_mean(values, mask)
    return loss, {"vf_clipfrac": float(vf_clipfrac), "value_mean": float(value_mean)}
