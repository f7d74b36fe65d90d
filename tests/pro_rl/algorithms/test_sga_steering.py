"""The weights → scores rule of SGA's grid evaluation and the win rate of SGA Table 5, on hand-computed values."""

import pytest
import torch

from pro_rl.algorithms.sga_steering import scores_from_weights, win_rate


def test_scores_from_weights_full_marks_at_or_above_one_over_k_else_k_times_w():
    assert scores_from_weights([1.0, 0.0, 0.0]) == [1.0, 0.0, 0.0]
    assert scores_from_weights([1 / 3, 1 / 3, 1 / 3]) == [1.0, 1.0, 1.0]
    assert scores_from_weights([0.7, 0.15, 0.15]) == pytest.approx([1.0, 0.45, 0.45])
    assert scores_from_weights([0.5, 0.5, 0.0]) == [1.0, 1.0, 0.0]
    assert scores_from_weights([0.2, 0.8]) == pytest.approx([0.4, 1.0])  # K = 2: 2 · 0.2


def test_win_rate_counts_wins_and_half_ties():
    method = torch.tensor([0.9, 0.1, 0.5, 0.3])
    baseline = torch.tensor([0.2, 0.4, 0.5, 0.1])
    assert win_rate(method, baseline) == pytest.approx((1 + 0 + 0.5 + 1) / 4)
    assert win_rate(baseline, method) == pytest.approx((0 + 1 + 0.5 + 0) / 4)
    assert win_rate(method, method) == 0.5


def test_win_rate_refuses_unpaired_rows():
    with pytest.raises(ValueError, match="one shape"):
        win_rate(torch.tensor([1.0, 2.0]), torch.tensor([1.0]))
    with pytest.raises(ValueError, match="non-empty"):
        win_rate(torch.tensor([]), torch.tensor([]))
