import math

import pytest
import torch

from pro_rl.algorithms.rejection import quantile_filter, realised_weights


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
