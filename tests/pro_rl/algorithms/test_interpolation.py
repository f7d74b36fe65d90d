import pytest
import torch

from pro_rl.algorithms.interpolation import interpolate_state_dicts


def test_interpolation_hand_computed():
    first = {"a": torch.tensor([1.0, 2.0]), "step": torch.tensor([3])}
    second = {"a": torch.tensor([3.0, 6.0]), "step": torch.tensor([3])}
    merged = interpolate_state_dicts([first, second], [0.25, 0.75])
    assert merged["a"].tolist() == pytest.approx([2.5, 5.0])
    assert merged["step"].tolist() == [3]
    assert merged["a"].dtype == torch.float32


def test_corner_weights_return_one_model():
    first, second = {"w": torch.randn(3, 2)}, {"w": torch.randn(3, 2)}
    assert torch.equal(interpolate_state_dicts([first, second], [0.0, 1.0])["w"], second["w"])


def test_mismatches_are_clear_errors():
    with pytest.raises(ValueError, match="simplex"):
        interpolate_state_dicts([{"a": torch.zeros(1)}] * 2, [0.5, 0.6])
    with pytest.raises(ValueError, match="keys"):
        interpolate_state_dicts([{"a": torch.zeros(1)}, {"b": torch.zeros(1)}], [0.5, 0.5])
    with pytest.raises(ValueError, match="shapes"):
        interpolate_state_dicts([{"a": torch.zeros(1)}, {"a": torch.zeros(2)}], [0.5, 0.5])
    with pytest.raises(ValueError, match="one weight per"):
        interpolate_state_dicts([{"a": torch.zeros(1)}], [0.5, 0.5])
