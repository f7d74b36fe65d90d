import math

import pytest
import torch

from pro_rl.algorithms.bradley_terry import bradley_terry_loss, pair_accuracy

CHOSEN = torch.tensor([2.0, 0.0, 1.0])
REJECTED = torch.tensor([0.0, 0.0, 3.0])
# differences 2, 0, -2


def test_bradley_terry_loss_hand_values():
    # -log sigmoid(d) = log(1 + e^-d): log(1 + e^-2) = 0.126928, log 2 = 0.693147, log(1 + e^2) = 2.126928
    # mean = 2.947003 / 3 = 0.982334
    expected = (math.log1p(math.exp(-2)) + math.log(2) + math.log1p(math.exp(2))) / 3
    loss = bradley_terry_loss(CHOSEN, REJECTED)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.982334, rel=1e-5)


def test_bradley_terry_gradient_pushes_chosen_up():
    chosen = torch.tensor([0.0], requires_grad=True)
    bradley_terry_loss(chosen, torch.tensor([0.0])).backward()
    # d/dr+ of -log sigmoid(r+ - r-) = -(1 - sigmoid(0)) = -0.5
    assert chosen.grad.item() == pytest.approx(-0.5)


def test_pair_accuracy_counts_strict_wins_only():
    assert pair_accuracy(CHOSEN, REJECTED) == pytest.approx(1 / 3)


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="must match"):
        bradley_terry_loss(torch.zeros(2), torch.zeros(3))
