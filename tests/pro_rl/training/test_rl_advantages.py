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


def test_kl_statistics_per_sequence_and_per_token():
    _, stats = rloo_sequence_advantages(torch.zeros(4), LOGPROBS, REF_LOGPROBS, MASK, 2, 0.1, "k1")
    # k1 summed per sequence [0.5, -1, 0, 0] -> mean -0.125; over the 7 response tokens: (0.5 - 1) / 7
    assert stats["kl/seq_mean"] == stats["kl/mean"] == pytest.approx(-0.125)
    assert stats["kl/token_mean"] == pytest.approx(-0.5 / 7)


def test_rloo_skipped_sample_leaves_the_baseline_and_normalisation_whitens_the_counted_ones():
    scores = torch.tensor([1.0, 3.0, 0.0, 2.0, 5.0, 9.0, 4.0, 8.0])
    mask = torch.ones(8, 2)
    zeros = torch.zeros(8, 2)
    valid = torch.tensor([True, True, True, False, True, True, True, True])
    # no KL (equal log-probs); n = 4: prompt 0 valid {1, 3, 0} sum 4 -> A = 1 - 1.5, 3 - 0.5, 0 - 2 = -0.5, 2.5, -2
    advantages, _ = rloo_sequence_advantages(scores, zeros, zeros, mask, 4, 0.1, valid=valid)
    torch.testing.assert_close(advantages[:4], torch.tensor([-0.5, 2.5, -2.0, 0.0]))
    # prompt 1 all valid, sum 26: A = r - (26 - r)/3 = (4r - 26)/3
    torch.testing.assert_close(advantages[4:], (4 * scores[4:] - 26) / 3)

    whitened, _ = rloo_sequence_advantages(scores, zeros, zeros, mask, 4, 0.1, valid=valid, normalize_advantages=True)
    counted = valid
    expected = (advantages[counted] - advantages[counted].mean()) / advantages[counted].std()
    torch.testing.assert_close(whitened[counted], expected)
    assert whitened[3] == 0.0


def test_ppo_skipped_sample_gets_zero_advantage_and_its_own_values_as_targets():
    scores = torch.tensor([1.0, -2.0, 0.5, 3.0])
    values = torch.full((4, 2), 0.25) * MASK
    valid = torch.tensor([True, False, True, True])
    advantages, returns, _ = ppo_token_advantages(scores, LOGPROBS, REF_LOGPROBS, values, MASK, kl_coef=0.0,
                                                  gamma=1.0, lam=1.0, valid=valid)
    assert bool((advantages[1] == 0).all())
    torch.testing.assert_close(returns[1], values[1])
    # the others are whitened among themselves: gamma = lambda = 1 -> A_t = score - V_t = score - 0.25 everywhere
    raw = (scores[[0, 2, 3]] - 0.25)[:, None].expand(3, 2).reshape(-1)
    torch.testing.assert_close(advantages[[0, 2, 3]].reshape(-1), (raw - raw.mean()) / raw.std())
    torch.testing.assert_close(returns[0], torch.tensor([1.0, 1.0]))


def test_dpo_pairs_skip_invalid_samples():
    chosen, rejected = dpo_pairs(torch.tensor([9.0, 0.5, 0.3, -1.0, 2.0, 0.0]), 3,
                                 torch.tensor([False, True, True, True, True, True]))
    assert chosen.tolist() == [1, 4] and rejected.tolist() == [2, 3]
