import math

import pytest
import torch

from pro_rl.algorithms.rank_correlation import average_ranks, spearman_rho


def test_average_ranks_share_ties():
    # 7 appears twice at sorted positions 3 and 4 -> both get 3.5
    assert average_ranks(torch.tensor([5.0, 6.0, 7.0, 8.0, 7.0])).tolist() == [1.0, 2.0, 3.5, 5.0, 3.5]


def test_spearman_hand_computed_with_a_tie():
    # ranks x = 1..5 (deviations -2,-1,0,1,2), ranks y = [1, 2, 3.5, 5, 3.5] (deviations -2,-1,0.5,2,0.5):
    # Σ dx·dy = 4+1+0+2+1 = 8, Σ dx² = 10, Σ dy² = 9.5  ->  ρ = 8 / sqrt(95) ≈ 0.8208
    rho = spearman_rho(torch.tensor([1, 2, 3, 4, 5]), torch.tensor([5.0, 6.0, 7.0, 8.0, 7.0]))
    assert rho == pytest.approx(8 / math.sqrt(95))


def test_spearman_is_rank_based_and_signed():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert spearman_rho(x, x ** 3) == pytest.approx(1.0)
    assert spearman_rho(x, -torch.exp(x)) == pytest.approx(-1.0)


def test_spearman_undefined_for_constant_or_single_values():
    assert math.isnan(spearman_rho(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([4.0, 4.0, 4.0])))
    assert math.isnan(spearman_rho(torch.tensor([1.0]), torch.tensor([2.0])))
    with pytest.raises(ValueError, match="pair up"):
        spearman_rho(torch.tensor([1.0, 2.0]), torch.tensor([1.0]))
