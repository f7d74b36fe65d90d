import math

import pytest
import torch

from pro_rl.algorithms.ppo import ppo_policy_loss, ppo_value_loss


def test_policy_loss_clips_per_token_and_ignores_padding():
    ratios = torch.tensor([[1.5, 0.9, 0.5, 3.0]])
    old_logprobs = torch.zeros(1, 4)
    logprobs = ratios.log().requires_grad_(True)
    advantages = torch.tensor([[1.0, 1.0, -1.0, 10.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    # token 0: rho 1.5, A 1:  max(-1.5, -1.2) = -1.2   (clipped)
    # token 1: rho 0.9, A 1:  max(-0.9, -0.9) = -0.9
    # token 2: rho 0.5, A -1: max(0.5, 0.8)   = 0.8    (clipped)
    # token 3: padding
    # loss = (-1.2 - 0.9 + 0.8) / 3 = -1.3 / 3
    loss, stats = ppo_policy_loss(logprobs, old_logprobs, advantages, mask, clip_eps=0.2)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(-1.3 / 3, rel=1e-6)
    assert stats["clipfrac"] == pytest.approx(2 / 3)
    # approx_kl = mean of 0.5 * log(rho)^2 over the three real tokens
    expected_kl = 0.5 * (math.log(1.5) ** 2 + math.log(0.9) ** 2 + math.log(0.5) ** 2) / 3
    assert stats["approx_kl"] == pytest.approx(expected_kl, rel=1e-5)
    # only the unclipped token carries gradient: d/dlogp1 of -A*rho/3 = -0.9/3 = -0.3
    loss.backward()
    torch.testing.assert_close(logprobs.grad, torch.tensor([[0.0, -0.3, 0.0, 0.0]]))


def test_policy_loss_at_ratio_one_is_minus_mean_advantage():
    logprobs = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]])
    advantages = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    # rho = 1 everywhere: loss = -(1 + 2 + 3) / 3 = -2 with the last token masked
    loss, stats = ppo_policy_loss(logprobs, logprobs.clone(), advantages, torch.tensor([[1, 1], [1, 0]]))
    assert loss.item() == pytest.approx(-2.0)
    assert stats == {"clipfrac": 0.0, "approx_kl": 0.0}


def test_value_loss_takes_the_larger_of_clipped_and_unclipped_error():
    values = torch.tensor([[1.0, 0.5, 0.5, 7.0]])
    old_values = torch.tensor([[0.9, 0.5, 1.0, 0.0]])
    returns = torch.tensor([[2.0, 0.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0]])
    # token 0: V 1.0 within [0.7, 1.1]: (1 - 2)^2 = 1
    # token 1: V 0.5 = V_old: 0.25
    # token 2: clip(0.5, 0.8, 1.2) = 0.8: unclipped 0.25, clipped 0.64 -> 0.64 (clipped larger)
    # loss = 0.5 * (1 + 0.25 + 0.64) / 3 = 0.315
    loss, stats = ppo_value_loss(values, old_values, returns, mask, clip_eps=0.2)
    assert loss.item() == pytest.approx(0.315, rel=1e-6)
    assert stats["vf_clipfrac"] == pytest.approx(1 / 3)
    assert stats["value_mean"] == pytest.approx(2.0 / 3)  # (1 + 0.5 + 0.5) / 3
