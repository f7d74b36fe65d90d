import math

import pytest
import torch

from pro_rl.algorithms.orchestrator import (
    categorical_kl,
    orchestrator_loss,
    orchestrator_metrics,
    orchestrator_targets,
)

LN3 = math.log(3.0)


def test_targets_are_softmax_over_tau():
    rewards = torch.tensor([[0.0, 0.1 * LN3], [1.0, 1.0]])
    # row 0: softmax(0, ln 3) = (1/4, 3/4); row 1: equal rewards -> (1/2, 1/2)
    targets = orchestrator_targets(rewards, tau=0.1)
    torch.testing.assert_close(targets, torch.tensor([[0.25, 0.75], [0.5, 0.5]]))


def test_default_tau_makes_z_scored_rewards_nearly_one_hot():
    # tau 0.1: softmax(0, 10) = (1 / (1 + e^10), e^10 / (1 + e^10)) = (4.54e-5, 0.99995)
    targets = orchestrator_targets(torch.tensor([[0.0, 1.0]]))
    assert targets[0, 0].item() == pytest.approx(1 / (1 + math.exp(10)), rel=1e-4)


def test_targets_reject_non_positive_tau():
    with pytest.raises(ValueError, match="tau"):
        orchestrator_targets(torch.zeros(1, 2), tau=0.0)


LOGITS = torch.tensor([[0.0, LN3]])  # f = softmax = (0.25, 0.75)
UNIFORM = torch.tensor([[0.5, 0.5]])


def test_forward_loss_is_kl_of_prediction_from_targets():
    # KL(f || w*) = 0.25 ln(0.25/0.5) + 0.75 ln(0.75/0.5) = -0.173287 + 0.304099 = 0.130812
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    assert orchestrator_loss(LOGITS, UNIFORM, "forward").item() == pytest.approx(expected, rel=1e-6)


def test_reverse_loss_and_its_gradient():
    logits = LOGITS.clone().requires_grad_(True)
    loss = orchestrator_loss(logits, UNIFORM, "reverse")
    # KL(w* || f) = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.346574 - 0.202733 = 0.143841
    assert loss.item() == pytest.approx(0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0), rel=1e-6)
    loss.backward()
    # d KL(w* || softmax(z)) / dz = f - w* = (0.25 - 0.5, 0.75 - 0.5)
    torch.testing.assert_close(logits.grad, torch.tensor([[-0.25, 0.25]]))


def test_one_hot_targets_stay_finite_and_batch_is_averaged():
    logits = LOGITS.repeat(2, 1)
    targets = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    # reverse, row 0: 1 * (0 - ln 0.25) = 1.386294; row 1: 0.143841 -> mean 0.765068
    reverse = orchestrator_loss(logits, targets, "reverse")
    row1 = 0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0)
    assert reverse.item() == pytest.approx((math.log(4.0) + row1) / 2, rel=1e-6)
    # forward, row 0: 0.25 (ln 0.25 - 0) + 0.75 (ln 0.75 - ln 1e-12) = 20.160930 (log w* floored at ln 1e-12)
    forward_row0 = 0.25 * math.log(0.25) + 0.75 * (math.log(0.75) - math.log(1e-12))
    forward = orchestrator_loss(logits[:1], targets[:1], "forward")
    assert torch.isfinite(forward)
    assert forward.item() == pytest.approx(forward_row0, rel=1e-5)


def test_loss_rejects_unknown_direction_and_shapes():
    with pytest.raises(ValueError, match="unknown KL direction"):
        orchestrator_loss(LOGITS, UNIFORM, "sideways")
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        orchestrator_loss(torch.zeros(2, 3), torch.zeros(2, 2))


def test_categorical_kl_is_zero_for_equal_distributions():
    p = torch.tensor([[0.2, 0.3, 0.5]])
    torch.testing.assert_close(categorical_kl(p, p.log(), p.log()), torch.tensor([0.0]))


def test_metrics_hand_values():
    predicted = torch.tensor([[0.25, 0.75], [0.6, 0.4]])
    targets = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    metrics = orchestrator_metrics(predicted, targets)
    # kl = KL(targets || predicted): row 0 0.143841, row 1 1 * ln(1/0.6) = 0.510826 -> mean 0.327333
    expected_kl = (0.5 * math.log(2.0) + 0.5 * math.log(2.0 / 3.0) + math.log(1 / 0.6)) / 2
    assert metrics["kl"] == pytest.approx(expected_kl, rel=1e-6)
    # argmax vs targets: row 0 1 vs 0 (first of a tie), row 1 0 vs 0 -> 0.5
    assert metrics["argmax_agreement"] == 0.5
    # entropy: row 0 ln 2, row 1 0 -> mean ln(2) / 2 = 0.346574
    assert metrics["target_entropy"] == pytest.approx(math.log(2.0) / 2, rel=1e-6)


def test_metrics_agreement_uses_true_weights_when_given():
    predicted = torch.tensor([[0.25, 0.75], [0.6, 0.4]])
    targets = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    true_weights = torch.tensor([[0.1, 0.9], [0.7, 0.3]])
    assert orchestrator_metrics(predicted, targets, true_weights)["argmax_agreement"] == 1.0
