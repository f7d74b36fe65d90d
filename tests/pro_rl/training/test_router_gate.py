import pytest
import torch

from pro_rl.config.schema import OrchestratorConfig
from pro_rl.training.router_gate import gate_pair_metrics, normalised_pair_rewards


def test_both_responses_are_z_scored_with_the_preferred_responses_statistics():
    chosen = torch.tensor([[1.0, 10.0], [3.0, 30.0]], dtype=torch.float64)  # means (2, 20)
    rejected = torch.tensor([[2.0, 20.0], [0.0, 0.0]], dtype=torch.float64)
    z_chosen, z_rejected, mean, std = normalised_pair_rewards(chosen, rejected, OrchestratorConfig())
    assert mean.tolist() == pytest.approx([2.0, 20.0])
    # the rejected row equal to the chosen mean maps to 0 in both columns, whatever the column's scale
    assert z_rejected[0].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
    assert z_chosen[:, 0].tolist() == pytest.approx(z_chosen[:, 1].tolist())
    assert z_chosen.dtype == torch.float32
    raw_chosen, raw_rejected, _, _ = normalised_pair_rewards(chosen, rejected, OrchestratorConfig(normalise_rewards=False))
    assert torch.equal(raw_rejected, rejected.float())


def test_gate_pair_metrics_hand_values():
    weights = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    chosen = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    rejected = torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    # margins: 1 (right order) and -2 (wrong order); with β = 1: (log(1 + e^-1) + log(1 + e^2)) / 2
    metrics = gate_pair_metrics(weights, chosen, rejected, beta=1.0)
    assert metrics["eval/gate/pair_accuracy"] == pytest.approx(0.5)
    assert metrics["eval/gate/loss"] == pytest.approx((0.313262 + 2.126928) / 2, rel=1e-5)
