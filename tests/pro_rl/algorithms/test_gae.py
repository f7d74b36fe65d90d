import pytest
import torch

from pro_rl.algorithms.gae import gae_advantages, last_token_index, token_level_rewards


def test_gae_undiscounted_stops_at_the_mask():
    rewards = torch.tensor([[0.0, 1.0, 5.0]])  # the 5.0 and the value 9.0 sit on padding and must be ignored
    values = torch.tensor([[0.5, 0.8, 9.0]])
    mask = torch.tensor([[1, 1, 0]])
    # t=1: delta = 1 + 1*0 - 0.8 = 0.2;       A1 = 0.2
    # t=0: delta = 0 + 1*0.8 - 0.5 = 0.3;     A0 = 0.3 + 1*0.5*0.2 = 0.4
    # returns = A + V = (0.9, 1.0, 0)
    advantages, returns = gae_advantages(rewards, values, mask, gamma=1.0, lam=0.5)
    torch.testing.assert_close(advantages, torch.tensor([[0.4, 0.2, 0.0]]))
    torch.testing.assert_close(returns, torch.tensor([[0.9, 1.0, 0.0]]))


def test_gae_discounted():
    rewards = torch.tensor([[0.1, 0.0, 1.0]])
    values = torch.tensor([[0.2, 0.4, 0.6]])
    mask = torch.ones(1, 3)
    # gamma*lam = 0.9*0.95 = 0.855
    # t=2: delta = 1 - 0.6 = 0.4;                  A2 = 0.4
    # t=1: delta = 0 + 0.9*0.6 - 0.4 = 0.14;       A1 = 0.14 + 0.855*0.4 = 0.482
    # t=0: delta = 0.1 + 0.9*0.4 - 0.2 = 0.26;     A0 = 0.26 + 0.855*0.482 = 0.67211
    advantages, returns = gae_advantages(rewards, values, mask, gamma=0.9, lam=0.95)
    torch.testing.assert_close(advantages, torch.tensor([[0.67211, 0.482, 0.4]]))
    torch.testing.assert_close(returns, torch.tensor([[0.87211, 0.882, 1.0]]))


def test_gae_shapes_and_no_grad():
    values = torch.randn(4, 6, requires_grad=True)
    advantages, returns = gae_advantages(torch.randn(4, 6), values, torch.ones(4, 6))
    assert advantages.shape == returns.shape == (4, 6)
    assert not advantages.requires_grad and not returns.requires_grad
    with pytest.raises(ValueError, match="same shape"):
        gae_advantages(torch.zeros(2, 3), torch.zeros(2, 3), torch.ones(2, 4))


def test_last_token_index_handles_left_padding_and_empty_rows():
    mask = torch.tensor([[1, 1, 0], [0, 1, 1], [0, 0, 0]])
    assert last_token_index(mask).tolist() == [1, 2, -1]


def test_token_level_rewards_puts_score_on_last_real_token():
    scores = torch.tensor([2.0, -1.0, 7.0])
    kl = torch.tensor([[0.1, 0.2, 0.3], [0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1, 1, 0], [1, 1, 1], [0, 0, 0]])
    # row 0: -0.5*0.1 = -0.05; -0.5*0.2 + 2 = 1.9; padding 0
    # row 1: -0.25, -0.25, -0.25 - 1 = -1.25
    # row 2: no real token -> all 0, the score is dropped
    result = token_level_rewards(scores, kl, mask, kl_coef=0.5)
    torch.testing.assert_close(
        result, torch.tensor([[-0.05, 1.9, 0.0], [-0.25, -0.25, -1.25], [0.0, 0.0, 0.0]])
    )


def test_token_level_rewards_rejects_bad_shapes():
    with pytest.raises(ValueError, match="expected scores"):
        token_level_rewards(torch.zeros(3), torch.zeros(2, 4), torch.ones(2, 4), kl_coef=0.1)
