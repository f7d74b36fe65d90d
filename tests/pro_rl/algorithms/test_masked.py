import pytest
import torch

from pro_rl.algorithms.masked import masked_mean, masked_var, masked_whiten

X = torch.tensor([[1.0, 2.0, 100.0], [3.0, 6.0, -50.0]])
MASK = torch.tensor([[1, 1, 0], [1, 1, 0]])
# unmasked values 1, 2, 3, 6: sum 12, mean 3


def test_masked_mean_all_and_per_row():
    assert masked_mean(X, MASK).item() == 3.0
    # row 0: (1 + 2) / 2 = 1.5; row 1: (3 + 6) / 2 = 4.5
    torch.testing.assert_close(masked_mean(X, MASK, dim=1), torch.tensor([1.5, 4.5]))
    # column 0: (1 + 3) / 2 = 2; column 2 fully masked -> 0, not NaN
    torch.testing.assert_close(masked_mean(X, MASK, dim=0), torch.tensor([2.0, 4.0, 0.0]))


def test_masked_var_biased_and_unbiased():
    # squared deviations from 3: 4, 1, 0, 9 -> sum 14
    assert masked_var(X, MASK, unbiased=True).item() == pytest.approx(14 / 3)
    assert masked_var(X, MASK, unbiased=False).item() == pytest.approx(14 / 4)


def test_masked_var_unbiased_needs_two_values():
    with pytest.raises(ValueError, match="at least 2"):
        masked_var(X, torch.tensor([[1, 0, 0], [0, 0, 0]]))


def test_masked_whiten_gives_zero_mean_unit_variance_on_real_positions():
    whitened = masked_whiten(X, MASK)
    # (x - 3) / sqrt(14/3): 1 -> -2 / 2.160247 = -0.925820
    assert whitened.shape == X.shape
    assert whitened[0, 0].item() == pytest.approx(-2 / (14 / 3) ** 0.5, rel=1e-6)
    assert masked_mean(whitened, MASK).item() == pytest.approx(0.0, abs=1e-6)
    assert masked_var(whitened, MASK).item() == pytest.approx(1.0, rel=1e-6)


def test_masked_whiten_without_mean_shift_keeps_the_mean():
    whitened = masked_whiten(X, MASK, shift_mean=False)
    # (x - 3) / s + 3 with s = sqrt(14/3): 6 -> 3 / 2.160247 + 3 = 4.388730
    assert whitened[1, 1].item() == pytest.approx(3 / (14 / 3) ** 0.5 + 3, rel=1e-6)
    assert masked_mean(whitened, MASK).item() == pytest.approx(3.0, rel=1e-6)
