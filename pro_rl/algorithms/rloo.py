"""REINFORCE leave-one-out (RLOO) for PRO-MORLHF (eq. 9) with n samples per prompt.

The reward of sample i (the scalarised eq. 9 reward, optionally minus a sequence-level KL term) is compared with the
mean reward of the other n - 1 samples of the same prompt:

    b_i = (sum_j r_j - r_i) / (n - 1),    A_i = r_i - b_i

and the policy is updated with a PPO-style clipped loss on the sequence-level ratio
rho_i = exp(sum_t log pi_theta - sum_t log pi_old):

    L = mean_i( -min(rho_i A_i, clip(rho_i, 1 - eps, 1 + eps) A_i) )

Batches are flat with the n samples of a prompt contiguous: [p0s0, p0s1, ..., p0s(n-1), p1s0, ...].

Invalid samples (a NaN/inf reward skipped by ``algorithm.on_bad_reward: skip``) leave the baseline, as in TRL's
RLOO: with V the valid samples of a prompt and m = |V|, b_i = (sum_{j in V} r_j - r_i) / (m - 1) for i in V. An
invalid sample, and every sample of a prompt with m < 2 (no baseline to compare with), gets A_i = 0.
"""

from __future__ import annotations

import torch
from torch import Tensor


def rloo_advantages(rewards: Tensor, num_samples: int, valid: Tensor | None = None) -> Tensor:
    """Leave-one-out advantages ``A_i = r_i - (sum_j r_j - r_i) / (m - 1)`` over the m valid samples of a prompt.

    Args:
        rewards: (B * n,) sequence rewards, the n samples of a prompt contiguous.
        num_samples: n, samples per prompt (>= 2).
        valid: (B * n,) bool, False for samples to leave out (see the module docstring); ``None``: all valid.

    Returns:
        (B * n,) advantages in the same order; 0 for invalid samples and for prompts with fewer than 2 valid ones.
    """
    if num_samples < 2:
        raise ValueError(f"RLOO needs at least 2 samples per prompt, got num_samples={num_samples}")
    if rewards.dim() != 1 or rewards.shape[0] % num_samples != 0:
        raise ValueError(
            f"rewards must have shape (B * {num_samples},), got {tuple(rewards.shape)}"
        )
    grouped = rewards.view(-1, num_samples)
    if valid is None:
        leave_one_out_baseline = (grouped.sum(dim=1, keepdim=True) - grouped) / (num_samples - 1)
        return (grouped - leave_one_out_baseline).reshape(-1)
    if valid.shape != rewards.shape:
        raise ValueError(f"valid {tuple(valid.shape)} must have the shape of rewards {tuple(rewards.shape)}")
    valid_grouped = valid.view(-1, num_samples)
    valid_rewards = torch.where(valid_grouped, grouped, torch.zeros_like(grouped))
    valid_count = valid_grouped.sum(dim=1, keepdim=True)
    leave_one_out_baseline = (valid_rewards.sum(dim=1, keepdim=True) - grouped) / (valid_count - 1).clamp(min=1)
    counted = samples_with_baseline(valid, num_samples).view(-1, num_samples)
    advantages = torch.where(counted, grouped - leave_one_out_baseline, torch.zeros_like(grouped))
    return advantages.reshape(-1)


def samples_with_baseline(valid: Tensor, num_samples: int) -> Tensor:
    """(B * n,) bool: the sample is valid and its prompt has at least 2 valid samples (a leave-one-out baseline).

    Args:
        valid: (B * n,) bool, the n samples of a prompt contiguous.
        num_samples: n.
    """
    if valid.dim() != 1 or valid.shape[0] % num_samples != 0:
        raise ValueError(f"valid must have shape (B * {num_samples},), got {tuple(valid.shape)}")
    grouped = valid.view(-1, num_samples)
    return (grouped & (grouped.sum(dim=1, keepdim=True) >= 2)).reshape(-1)


def sequence_clipped_loss(
    seq_logprobs: Tensor, old_seq_logprobs: Tensor, advantages: Tensor, clip_eps: float = 0.2
) -> tuple[Tensor, dict[str, float]]:
    """Clipped surrogate loss with one ratio per sequence.

    Args:
        seq_logprobs: (N,) summed response log-probs under the current policy (with grad).
        old_seq_logprobs: (N,) the same under the sampling policy.
        advantages: (N,) e.g. from ``rloo_advantages``.
        clip_eps: epsilon of the ratio clip.

    Returns:
        ``(loss, stats)``: scalar loss, mean over sequences; stats ``clipfrac`` (share of sequences where the
        clipped term was chosen) and ``ratio_mean``.
    """
    if not (seq_logprobs.shape == old_seq_logprobs.shape == advantages.shape) or seq_logprobs.dim() != 1:
        raise ValueError(
            f"expected three (N,) tensors, got {tuple(seq_logprobs.shape)}, {tuple(old_seq_logprobs.shape)}, "
            f"{tuple(advantages.shape)}"
        )
    ratio = torch.exp(seq_logprobs - old_seq_logprobs)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps) * advantages
    loss = -torch.minimum(unclipped, clipped).mean()
    with torch.no_grad():
        clipfrac = (clipped < unclipped).to(ratio.dtype).mean()
        ratio_mean = ratio.mean()
    return loss, {"clipfrac": float(clipfrac), "ratio_mean": float(ratio_mean)}
