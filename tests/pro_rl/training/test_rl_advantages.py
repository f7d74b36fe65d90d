"""From scalarised rewards and log-probs to RLOO / PPO advantages and DPO pairs, with hand-computed values."""

import pytest
import torch

from pro_rl.training.rl_advantages import dpo_pairs, ppo_token_advantages, rloo_sequence_advantages

MASK = torch.tensor([[1.0, 1.0], [1.0, 0.0], [1.0, 1.0], [1.0, 1.0]])
LOGPROBS = torch.tensor([[-1.0, -1.0], [-2.0, -9.0], [-1.0, -1.0], [-1.0, -1.0]])
REF_LOGPROBS = torch.tensor([[-1.5, -1.0], [-1.0, -3.0], [-1.0, -1.0], [-1.0, -1.0]])


def test_rloo_sequence_advantages_by_hand():
    # k1 per token: row 0 [0.5, 0], row 1 [-1, padding], rows 2-3 zero -> summed KL [0.5, -1, 0, 0]
    # penalised reward with beta 0.1: [1 - 0.05, 3 + 0.1, 0, 2]; leave-one-out with n = 2: A_i = r_i - r_other
    advantages, stats = rloo_sequence_advantages(torch.tensor([1.0, 3.0, 0.0, 2.0]), LOGPROBS, REF_LOGPROBS, MASK,
                                                 num_samples=2, kl_coef=0.1, kl_estimator="k1")
    torch.testing.assert_close(advantages, torch.tensor([-2.15, 2.15, -2.0, 2.0]))
    assert stats["kl/mean"] == pytest.approx(-0.125)
    assert stats["reward/penalised/mean"] == pytest.approx((0.95 + 3.1 + 0 + 2) / 4)


def test_rloo_kl_estimator_is_used():
    _, stats = rloo_sequence_advantages(torch.zeros(4), LOGPROBS, REF_LOGPROBS, MASK, 2, 0.1, "k2")
    assert stats["kl/mean"] == pytest.approx((0.125 + 0.5) / 4)  # 1/2 (0.5)^2 and 1/2 (-1)^2


def test_ppo_token_advantages_by_hand():
    scores = torch.tensor([1.0, -2.0, 0.5, 3.0])
    # beta 0 and zero values with gamma = lambda = 1: every return is the score that arrives at the last token
    advantages, returns, stats = ppo_token_advantages(scores, LOGPROBS, REF_LOGPROBS, torch.zeros(4, 2), MASK,
                                                      kl_coef=0.0, gamma=1.0, lam=1.0)
    torch.testing.assert_close(returns, scores[:, None] * MASK)
    assert advantages[1, 1] == 0.0  # padding stays 0 after whitening
    real = advantages[MASK.bool()]
    assert real.mean().abs() < 1e-6 and real.std() == pytest.approx(1.0, abs=1e-4)
    raw = scores[:, None].expand(4, 2)[MASK.bool()]
    torch.testing.assert_close(real, (raw - raw.mean()) / raw.std())
    assert stats["kl/mean"] == pytest.approx(-0.125)
    assert stats["returns/mean"] == pytest.approx(float(raw.mean()))


def test_ppo_kl_penalty_lowers_returns():
    scores = torch.zeros(4)
    _, returns, _ = ppo_token_advantages(scores, LOGPROBS, REF_LOGPROBS, torch.zeros(4, 2), MASK, kl_coef=0.1,
                                         gamma=1.0, lam=1.0)
    # row 0: per-token rewards [-0.05, 0] -> returns [-0.05, 0]; row 1: [+0.1] at its single token
    torch.testing.assert_close(returns[0], torch.tensor([-0.05, 0.0]))
    torch.testing.assert_close(returns[1], torch.tensor([0.1, 0.0]))


def test_dpo_pairs_pick_best_and_worst_per_prompt():
    chosen, rejected = dpo_pairs(torch.tensor([0.1, 0.5, 0.3, -1.0, 2.0, 0.0]), num_samples=3)
    assert chosen.tolist() == [1, 4] and rejected.tolist() == [0, 3]
