import math

import pytest
import torch

from pro_rl.algorithms.kl import AdaptiveKLController, FixedKLController, kl_penalty

LOGP = torch.tensor([[-1.0, -2.0]])
REF_LOGP = torch.tensor([[-1.5, -1.0]])
# log ratio logp - ref = (0.5, -1.0)


def test_k1_is_log_ratio():
    torch.testing.assert_close(kl_penalty(LOGP, REF_LOGP, "k1"), torch.tensor([[0.5, -1.0]]))


def test_k2_is_half_squared_log_ratio():
    # 0.5 * 0.25 = 0.125; 0.5 * 1 = 0.5
    torch.testing.assert_close(kl_penalty(LOGP, REF_LOGP, "k2"), torch.tensor([[0.125, 0.5]]))


def test_k3_matches_hand_values_and_is_non_negative():
    # ref - logp = (-0.5, 1.0): exp(-0.5) + 0.5 - 1 = 0.106531; exp(1) - 1 - 1 = 0.718282
    expected = torch.tensor([[math.exp(-0.5) - 0.5, math.e - 2.0]])
    result = kl_penalty(LOGP, REF_LOGP, "k3")
    assert result.shape == (1, 2)
    torch.testing.assert_close(result, expected)
    assert (kl_penalty(torch.randn(3, 5), torch.randn(3, 5), "k3") >= 0).all()


def test_identical_policies_give_zero():
    logp = torch.randn(2, 4)
    for estimator in ("k1", "k2", "k3"):
        assert kl_penalty(logp, logp.clone(), estimator).abs().max().item() == 0.0


def test_bad_estimator_and_shapes_raise():
    with pytest.raises(ValueError, match="unknown KL estimator"):
        kl_penalty(LOGP, REF_LOGP, "k4")
    with pytest.raises(ValueError, match="same shape"):
        kl_penalty(torch.zeros(2, 3), torch.zeros(2, 4))


def test_fixed_controller_never_moves():
    controller = FixedKLController(0.05)
    controller.update(current_kl=100.0, n_steps=64)
    assert controller.value == 0.05
    restored = FixedKLController(1.0)
    restored.load_state_dict(controller.state_dict())
    assert restored.value == 0.05


def test_adaptive_controller_proportional_update():
    controller = AdaptiveKLController(init_kl_coef=0.2, target=3.0, horizon=10000)
    # KL 3.6: error = 3.6/3 - 1 = 0.2 (at the clip); value = 0.2 * (1 + 0.2 * 1000 / 10000) = 0.2 * 1.02 = 0.204
    controller.update(current_kl=3.6, n_steps=1000)
    assert controller.value == pytest.approx(0.204)
    # KL 30: error clipped to 0.2 -> 0.204 * 1.02 = 0.20808
    controller.update(current_kl=30.0, n_steps=1000)
    assert controller.value == pytest.approx(0.20808)
    # KL 2.7: error = 0.9 - 1 = -0.1 -> 0.20808 * (1 - 0.1 * 5000 / 10000) = 0.20808 * 0.95 = 0.197676
    controller.update(current_kl=2.7, n_steps=5000)
    assert controller.value == pytest.approx(0.197676)
    # KL 0: error = -1 clipped to -0.2 -> 0.197676 * (1 - 0.2 * 0.1) = 0.19372248
    controller.update(current_kl=0.0, n_steps=1000)
    assert controller.value == pytest.approx(0.19372248)


def test_adaptive_controller_state_round_trip():
    controller = AdaptiveKLController(init_kl_coef=0.1, target=6.0, horizon=500)
    controller.update(current_kl=12.0, n_steps=10)
    restored = AdaptiveKLController()
    restored.load_state_dict(controller.state_dict())
    assert (restored.value, restored.target, restored.horizon) == (controller.value, 6.0, 500)
    # 0.1 * (1 + 0.2 * 10 / 500) = 0.1 * 1.004 = 0.1004
    assert restored.value == pytest.approx(0.1004)
