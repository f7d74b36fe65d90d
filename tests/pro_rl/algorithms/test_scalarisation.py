import pytest
import torch

from pro_rl.algorithms.scalarisation import scalarise


def test_scalarise_uses_each_rows_own_weights():
    rewards = torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])
    weights = torch.tensor([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    # row 0: 0.5*1 + 0.5*2 + 0*3 = 1.5
    # row 1: 0.2*(-1) + 0.3*0.5 + 0.5*4 = -0.2 + 0.15 + 2.0 = 1.95
    result = scalarise(rewards, weights)
    assert result.shape == (2,)
    torch.testing.assert_close(result, torch.tensor([1.5, 1.95]))


def test_one_hot_weights_select_one_objective():
    rewards = torch.tensor([[7.0, -3.0]])
    assert scalarise(rewards, torch.tensor([[0.0, 1.0]])).item() == -3.0


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shape of rewards"):
        scalarise(torch.zeros(2, 3), torch.zeros(2, 2))
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        scalarise(torch.zeros(3), torch.zeros(3))
