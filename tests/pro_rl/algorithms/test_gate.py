import math

import pytest
import torch

from pro_rl.algorithms.gate import gate_bradley_terry_loss, gate_margins


def test_gate_margins_mix_the_reward_differences():
    weights = torch.tensor([[0.75, 0.25], [0.5, 0.5]])
    chosen = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    rejected = torch.tensor([[-1.0, 2.0], [0.0, 2.0]])
    # differences (2, -2) and (2, -2): 0.75·2 - 0.25·2 = 1.0 and 0.5·2 - 0.5·2 = 0.0
    assert gate_margins(weights, chosen, rejected).tolist() == pytest.approx([1.0, 0.0])


def test_gate_loss_hand_values():
    logits = torch.tensor([[math.log(3.0), 0.0], [0.0, 0.0]])  # weights (0.75, 0.25) and (0.5, 0.5)
    chosen = torch.tensor([[1.0, 0.0], [2.0, 0.0]])
    rejected = torch.tensor([[-1.0, 2.0], [0.0, 2.0]])
    # margins 1.0 and 0.0; with β = 2: -log σ(2) = log(1 + e^-2) = 0.126928, -log σ(0) = log 2 = 0.693147
    expected = (math.log1p(math.exp(-2.0)) + math.log(2.0)) / 2
    loss = gate_bradley_terry_loss(logits, chosen, rejected, beta=2.0)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert expected == pytest.approx(0.410038, rel=1e-5)


def test_gate_gradient_moves_weight_to_the_objective_that_agrees_with_the_label():
    logits = torch.zeros(1, 2, requires_grad=True)
    # objective 0 prefers the chosen response by 2, objective 1 the rejected one by 2; margin 0 at w = (0.5, 0.5)
    gate_bradley_terry_loss(logits, torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 2.0]])).backward()
    # dL/dmargin = -(1 - σ(0)) = -0.5; dmargin/dlogit_j = w_j (d_j - Σ w d) = (1, -1)
    assert logits.grad[0].tolist() == pytest.approx([-0.5, 0.5])


def test_gate_loss_rejects_bad_shapes_and_beta():
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        gate_bradley_terry_loss(torch.zeros(2, 3), torch.zeros(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="beta must be > 0"):
        gate_bradley_terry_loss(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 2), beta=0.0)
