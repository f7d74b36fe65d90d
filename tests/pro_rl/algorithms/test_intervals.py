import math

import pytest
import torch

from pro_rl.algorithms.intervals import bootstrap_mean_interval, paired_difference_interval


def test_constant_rows_give_a_degenerate_interval_per_column():
    values = torch.tensor([[2.0, -1.0, 0.5]] * 7)
    mean, low, high = bootstrap_mean_interval(values, resamples=200)
    assert mean.shape == low.shape == high.shape == (3,)
    assert mean.tolist() == low.tolist() == high.tolist() == [2.0, -1.0, 0.5]


def test_two_values_hand_computed_quantiles():
    # a resample of [0, 1] has mean 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4: the 2.5 % quantile is 0 and the
    # 97.5 % quantile is 1 (each end holds ~25 % of the B means, far more than 2.5 %)
    mean, low, high = bootstrap_mean_interval(torch.tensor([0.0, 1.0]), level=0.95, resamples=2000, seed=3)
    assert mean.shape == () and (float(mean), float(low), float(high)) == (0.5, 0.0, 1.0)
    # at level 0.4 the quantiles 0.3 and 0.7 fall on the middle mass 0.5
    _, low, high = bootstrap_mean_interval(torch.tensor([0.0, 1.0]), level=0.4, resamples=2000, seed=3)
    assert (float(low), float(high)) == (0.5, 0.5)


def test_width_matches_the_normal_theory_interval_and_is_seeded():
    values = torch.randn(400, generator=torch.Generator().manual_seed(0)) * 2.0 + 1.0
    mean, low, high = bootstrap_mean_interval(values, resamples=2000, seed=1)
    assert float(low) < float(mean) < float(high)
    expected_width = 2 * 1.96 * float(values.std()) / math.sqrt(400)  # ≈ 0.39
    assert float(high - low) == pytest.approx(expected_width, rel=0.15)
    again = bootstrap_mean_interval(values, resamples=2000, seed=1)
    assert (float(again[1]), float(again[2])) == (float(low), float(high))


def test_refuses_bad_arguments():
    with pytest.raises(ValueError, match="shape"):
        bootstrap_mean_interval(torch.zeros(0))
    with pytest.raises(ValueError, match="level"):
        bootstrap_mean_interval(torch.zeros(3), level=1.0)


def test_paired_difference_of_identical_inputs_is_zero_zero():
    values = torch.tensor([0.3, -1.2, 0.7, 2.0, 0.1])
    mean, low, high = paired_difference_interval(values, values.clone(), resamples=500)
    assert (float(mean), float(low), float(high)) == (0.0, 0.0, 0.0)


def test_paired_difference_resamples_prompts_together():
    # per-prompt means vary a lot (0..9) but the method is always 0.5 ahead: the paired interval is [0.5, 0.5],
    # while the unpaired intervals of the two means overlap widely
    baseline = torch.arange(10, dtype=torch.float64)
    mean, low, high = paired_difference_interval(baseline + 0.5, baseline, resamples=500)
    assert (float(mean), float(low), float(high)) == pytest.approx((0.5, 0.5, 0.5))
    _, base_low, base_high = bootstrap_mean_interval(baseline, resamples=500)
    assert float(base_high - base_low) > 2.0


def test_paired_difference_hand_computed_quantiles_and_shape_check():
    # differences [0, 1]: the same resampled means as test_two_values_hand_computed_quantiles
    mean, low, high = paired_difference_interval(torch.tensor([2.0, 3.0]), torch.tensor([2.0, 2.0]), resamples=2000,
                                                 seed=3)
    assert (float(mean), float(low), float(high)) == (0.5, 0.0, 1.0)
    with pytest.raises(ValueError, match="same shape"):
        paired_difference_interval(torch.zeros(3), torch.zeros(4))
