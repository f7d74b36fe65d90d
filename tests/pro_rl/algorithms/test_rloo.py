import math

import pytest
import torch

from pro_rl.algorithms.rloo import rloo_advantages, sequence_clipped_loss


def test_rloo_advantages_leave_one_out_per_prompt():
    rewards = torch.tensor([1.0, 2.0, 3.0, 10.0, 10.0, 10.0])
    # prompt 0: sum 6; baselines (6-1)/2 = 2.5, (6-2)/2 = 2, (6-3)/2 = 1.5 -> A = -1.5, 0, 1.5
    # prompt 1: all equal -> A = 0
    result = rloo_advantages(rewards, num_samples=3)
    torch.testing.assert_close(result, torch.tensor([-1.5, 0.0, 1.5, 0.0, 0.0, 0.0]))


def test_rloo_with_two_samples_is_the_difference():
    # A_0 = 1 - 4 = -3, A_1 = 4 - 1 = 3
    torch.testing.assert_close(rloo_advantages(torch.tensor([1.0, 4.0]), 2), torch.tensor([-3.0, 3.0]))


def test_rloo_rejects_bad_group_sizes():
    with pytest.raises(ValueError, match="at least 2"):
        rloo_advantages(torch.zeros(4), num_samples=1)
    with pytest.raises(ValueError, match="shape"):
        rloo_advantages(torch.zeros(5), num_samples=2)


def test_sequence_clipped_loss_hand_values():
    old = torch.tensor([-10.0, -20.0, -5.0])
    new = old + torch.tensor([math.log(1.5), math.log(0.7), 0.0])
    advantages = torch.tensor([2.0, 2.0, -1.0])
    # seq 0: rho 1.5, A 2: min(3.0, 1.2*2 = 2.4) = 2.4 (clipped)
    # seq 1: rho 0.7, A 2: min(1.4, 0.8*2 = 1.6) = 1.4
    # seq 2: rho 1,   A -1: -1
    # loss = -(2.4 + 1.4 - 1) / 3 = -2.8 / 3
    loss, stats = sequence_clipped_loss(new, old, advantages, clip_eps=0.2)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(-2.8 / 3, rel=1e-5)
    assert stats["clipfrac"] == pytest.approx(1 / 3)
    assert stats["ratio_mean"] == pytest.approx((1.5 + 0.7 + 1.0) / 3, rel=1e-5)


def test_sequence_clipped_loss_shape_check():
    with pytest.raises(ValueError, match=r"\(N,\)"):
        sequence_clipped_loss(torch.zeros(3), torch.zeros(3), torch.zeros(2))
