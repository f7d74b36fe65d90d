"""Weight entropy and argmax agreement, on hand-computed rows."""

import math

import pytest
import torch

from pro_rl.algorithms.simplex import argmax_agreement, weight_entropy


def test_weight_entropy_hand_computed_rows():
    weights = torch.tensor([
        [1.0, 0.0, 0.0],  # one-hot: 0
        [0.5, 0.5, 0.0],  # -2 * 0.5 log 0.5 = log 2 (the zero adds nothing)
        [1 / 3, 1 / 3, 1 / 3],  # uniform: log 3
        [0.7, 0.15, 0.15],  # -(0.7 log 0.7 + 2 * 0.15 log 0.15)
    ], dtype=torch.float64)
    expected = [0.0, math.log(2), math.log(3), -(0.7 * math.log(0.7) + 0.3 * math.log(0.15))]
    assert weight_entropy(weights).tolist() == pytest.approx(expected, abs=1e-12)


def test_weight_entropy_is_finite_for_weights_below_the_floor_and_keeps_dtype():
    weights = torch.tensor([[1.0 - 1e-30, 1e-30]], dtype=torch.float32)
    entropy = weight_entropy(weights)
    assert entropy.shape == (1,)
    assert entropy.dtype == torch.float32
    assert math.isfinite(entropy.item())
    assert entropy.item() == pytest.approx(0.0, abs=1e-6)


def test_weight_entropy_needs_a_matrix():
    with pytest.raises(ValueError, match=r"\(B, K\)"):
        weight_entropy(torch.tensor([0.5, 0.5]))


def test_argmax_agreement_counts_matching_rows():
    predicted = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8], [0.4, 0.4, 0.2]])
    reference = torch.tensor([[0.7, 0.15, 0.15], [0.15, 0.15, 0.7], [0.15, 0.15, 0.7], [0.15, 0.7, 0.15]],
                             dtype=torch.float64)
    # rows 0 and 2 agree; row 1 does not; row 3 ties on 0.4 and argmax takes the first (objective 0), not 1
    assert argmax_agreement(predicted, reference) == 0.5


def test_argmax_agreement_is_exact_in_float64():
    predicted = torch.eye(3).repeat(50, 1)  # 150 rows
    reference = predicted.clone()
    reference[:52] = reference[:52].roll(1, dims=1)  # 52 rows disagree, 98 agree
    assert argmax_agreement(predicted, reference) == 98 / 150


def test_argmax_agreement_rejects_other_shapes():
    with pytest.raises(ValueError, match="same shape"):
        argmax_agreement(torch.zeros(2, 3), torch.zeros(3, 3))
