import math

import pytest
import torch

from pro_rl.algorithms.rejection import entropy_matched_tau, quantile_filter, realised_weights


def test_quantile_filter_hand_computed():
    # column 0: 0, 1, 2, 3, 4 -> 0.7-quantile = 2.8 (linear); column 1: 4, 3, 2, 1, 0 -> 2.8
    rewards = torch.tensor([[0.0, 4.0], [1.0, 3.0], [2.0, 2.0], [3.0, 1.0], [4.0, 0.0]])
    assert quantile_filter(rewards, 0.7).tolist() == [True, True, False, True, True]


def test_quantile_filter_keeps_ties_and_extremes():
    rewards = torch.tensor([[1.0], [1.0], [1.0]])
    assert quantile_filter(rewards, 0.7).all()
    rewards = torch.tensor([[0.0], [5.0], [1.0]])
    assert quantile_filter(rewards, 1.0).tolist() == [False, True, False]
    assert quantile_filter(rewards, 0.0).all()


def test_quantile_filter_rejects_bad_input():
    with pytest.raises(ValueError):
        quantile_filter(torch.zeros(3), 0.7)
    with pytest.raises(ValueError):
        quantile_filter(torch.zeros(3, 2), 1.5)


def test_realised_weights_is_softmax_over_tau():
    z = torch.tensor([[0.0, math.log(3.0) * 0.5]])  # tau 0.5 -> softmax([0, log 3]) = (0.25, 0.75)
    assert realised_weights(z, tau=0.5).tolist()[0] == pytest.approx([0.25, 0.75])
    assert realised_weights(torch.zeros(2, 4), tau=0.1).sum(dim=1).tolist() == pytest.approx([1.0, 1.0])


def test_entropy_matched_tau_hand_computed():
    # z = (0, 1): softmax(z / τ) = (0.25, 0.75) when exp(1 / τ) = 3, i.e. τ = 1 / ln 3; its entropy is the target
    target = -(0.25 * math.log(0.25) + 0.75 * math.log(0.75))
    assert entropy_matched_tau(torch.tensor([[0.0, 1.0]]), target) == pytest.approx(1 / math.log(3), rel=1e-6)


def test_entropy_matched_tau_clamps_to_its_range_and_rejects_bad_input():
    rewards = torch.tensor([[0.0, 1.0, 2.0], [2.0, 0.0, 0.0]])
    assert entropy_matched_tau(rewards, 0.0, low=0.01, high=10.0) == 0.01
    assert entropy_matched_tau(rewards, math.log(3), low=0.01, high=10.0) == 10.0
    with pytest.raises(ValueError):
        entropy_matched_tau(torch.zeros(0, 3), 0.5)
    with pytest.raises(ValueError):
        entropy_matched_tau(rewards, 0.5, low=1.0, high=0.5)
