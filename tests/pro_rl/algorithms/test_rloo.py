import math

import pytest
import torch

from pro_rl.algorithms.rloo import rloo_advantages, samples_with_baseline, sequence_clipped_loss


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


# --- invalid samples (TRL's RLOO: a NaN/inf reward leaves its prompt's baseline) ----------------------------------

def test_rloo_leaves_an_invalid_sample_out_of_its_groups_baseline():
    rewards = torch.tensor([1.0, 99.0, 3.0, 4.0, 10.0, 20.0, 30.0, 40.0])
    valid = torch.tensor([True, False, True, True, True, True, True, True])
    # prompt 0: valid {1, 3, 4}, sum 8, m = 3: b = (8-1)/2 = 3.5, (8-3)/2 = 2.5, (8-4)/2 = 2 -> A = -2.5, 0.5, 2;
    # the invalid sample gets 0. Prompt 1 (all valid, sum 100): b = (100-r)/3 -> A = r - (100-r)/3.
    expected = torch.tensor([-2.5, 0.0, 0.5, 2.0, 10 - 30.0, 20 - 80 / 3, 30 - 70 / 3, 40 - 20.0])
    torch.testing.assert_close(rloo_advantages(rewards, 4, valid), expected)


def test_rloo_skips_a_group_with_fewer_than_two_valid_samples():
    rewards = torch.tensor([5.0, 1.0, 2.0, 7.0])
    valid = torch.tensor([True, False, True, True])
    # prompt 0 has one valid sample: no baseline, zero advantage; prompt 1: 2 - 7 and 7 - 2
    torch.testing.assert_close(rloo_advantages(rewards, 2, valid), torch.tensor([0.0, 0.0, -5.0, 5.0]))


def test_rloo_with_every_sample_valid_is_exactly_the_unmasked_form():
    rewards = torch.randn(24, generator=torch.Generator().manual_seed(0))
    assert torch.equal(rloo_advantages(rewards, 4, torch.ones(24, dtype=torch.bool)), rloo_advantages(rewards, 4))


def test_samples_with_baseline_needs_the_sample_and_one_valid_sibling():
    valid = torch.tensor([True, False, False, True, True, False])
    # groups of 3: {T, F, F} has one valid sample -> none counted; {T, T, F} -> the two valid ones
    assert samples_with_baseline(valid, 3).tolist() == [False, False, False, True, True, False]
