"""SGA losses (eqs. 7 and 9) on hand-computed values."""

import math

import pytest
import torch

from pro_rl.algorithms.sga import score_mse, sga_dpo_loss, sga_sft_loss


def test_score_mse_is_the_mean_over_rows_and_objectives():
    predicted = torch.tensor([[0.5, 1.0], [0.0, 0.25]])
    target = torch.tensor([[0.25, 1.0], [0.5, 0.25]])
    # squared errors 0.0625, 0, 0.25, 0 -> mean 0.078125
    assert score_mse(predicted, target).item() == pytest.approx(0.078125)
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        score_mse(predicted, target[:, :1])


def test_sft_loss_is_ce_plus_lambda_mse_and_reaches_the_head():
    predicted = torch.tensor([[0.5, 1.0], [0.0, 0.25]], requires_grad=True)
    target = torch.tensor([[0.25, 1.0], [0.5, 0.25]])
    loss, stats = sga_sft_loss(torch.tensor(2.0), predicted, target, lam=1000.0)
    assert loss.item() == pytest.approx(2.0 + 78.125)
    assert stats == pytest.approx({"ce": 2.0, "mse": 0.078125, "loss": 80.125})
    loss.backward()
    # d/dp of lam * mean((p - t)^2) = lam * 2 (p - t) / 4
    expected = 1000.0 * 2 * (predicted.detach() - target) / 4
    torch.testing.assert_close(predicted.grad, expected)


def test_dpo_loss_is_weighted_dpo_plus_lambda_mse():
    chosen, rejected = torch.tensor([-1.0, -2.0]), torch.tensor([-3.0, -1.0])
    ref_chosen, ref_rejected = torch.tensor([-2.0, -2.0]), torch.tensor([-2.0, -2.0])
    predicted, target = torch.tensor([[0.5], [0.5]]), torch.tensor([[0.0], [1.0]])  # mse 0.25
    # logits: (-1 + 3) - 0 = 2 and (-2 + 1) - 0 = -1; beta 0.5 -> -logsigmoid(1), -logsigmoid(-0.5)
    dpo = (math.log1p(math.exp(-1.0)) + math.log1p(math.exp(0.5))) / 2
    loss, stats = sga_dpo_loss(chosen, rejected, ref_chosen, ref_rejected, predicted, target, beta=0.5, lam=0.9,
                               dpo_weight=0.1)
    assert loss.item() == pytest.approx(0.1 * dpo + 0.9 * 0.25)
    assert stats["dpo"] == pytest.approx(dpo) and stats["mse"] == pytest.approx(0.25)
    assert stats["accuracy"] == pytest.approx(0.5) and stats["reward_margin"] == pytest.approx(0.25)
    paper, _ = sga_dpo_loss(chosen, rejected, ref_chosen, ref_rejected, predicted, target, beta=0.5, lam=1000.0)
    assert paper.item() == pytest.approx(dpo + 250.0)


def test_snap_scores_rounds_to_the_grid_and_zero_is_off():
    from pro_rl.algorithms.sga import snap_scores

    scores = torch.tensor([[0.1, 0.13, 0.9], [0.375, 0.625, 1.0]])
    torch.testing.assert_close(snap_scores(scores, 4), torch.tensor([[0.0, 0.25, 1.0], [0.5, 0.5, 1.0]]))
    assert snap_scores(scores, 0) is scores
    with pytest.raises(ValueError, match="grid"):
        snap_scores(scores, -1)
