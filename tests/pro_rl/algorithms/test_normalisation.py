import json

import pytest
import torch

from pro_rl.algorithms.normalisation import RunningNormaliser, zscore, zscore_stats


def test_running_stats_over_two_batches_equal_full_data_stats():
    normaliser = RunningNormaliser(num_objectives=2)
    normaliser.update(torch.tensor([[1.0, 10.0], [3.0, 10.0]]))
    normaliser.update(torch.tensor([[5.0, 40.0]]))
    # column 0: values 1, 3, 5 -> mean 3, population var ((-2)^2 + 0 + 2^2) / 3 = 8/3
    # column 1: values 10, 10, 40 -> mean 20, var (100 + 100 + 400) / 3 = 200
    assert normaliser.count == 3
    torch.testing.assert_close(normaliser.mean, torch.tensor([3.0, 20.0], dtype=torch.float64))
    torch.testing.assert_close(
        normaliser.std, torch.tensor([(8 / 3) ** 0.5, 200**0.5], dtype=torch.float64)
    )
    assert normaliser.mean.dtype == torch.float64


def test_normalise_is_zscore_with_running_stats():
    normaliser = RunningNormaliser(num_objectives=1, epsilon=0.0)
    normaliser.update(torch.tensor([[2.0], [4.0], [6.0], [8.0]]))
    # mean 5, var (9 + 1 + 1 + 9) / 4 = 5, std sqrt(5); (10 - 5) / sqrt(5) = sqrt(5)
    result = normaliser.normalise(torch.tensor([[10.0], [5.0]]))
    assert result.shape == (2, 1)
    assert result.dtype == torch.float32
    torch.testing.assert_close(result, torch.tensor([[5**0.5], [0.0]]))


def test_with_fewer_than_two_rows_only_the_mean_is_removed():
    normaliser = RunningNormaliser(num_objectives=2)
    torch.testing.assert_close(normaliser.normalise(torch.tensor([[1.0, 2.0]])), torch.tensor([[1.0, 2.0]]))
    normaliser.update(torch.tensor([[4.0, -1.0]]))
    # mean (4, -1), std taken as 1: (5 - 4, 0 - (-1)) = (1, 1)
    torch.testing.assert_close(normaliser.std, torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(normaliser.normalise(torch.tensor([[5.0, 0.0]])), torch.tensor([[1.0, 1.0]]))


def test_state_dict_is_json_and_round_trips():
    normaliser = RunningNormaliser(num_objectives=2)
    normaliser.update(torch.tensor([[1.0, 2.0], [3.0, 6.0]]))
    state = json.loads(json.dumps(normaliser.state_dict()))
    restored = RunningNormaliser(num_objectives=2)
    restored.load_state_dict(state)
    assert restored.count == 2
    torch.testing.assert_close(restored.mean, torch.tensor([2.0, 4.0], dtype=torch.float64))
    # var col 0: (1 + 1) / 2 = 1; col 1: (4 + 4) / 2 = 4
    torch.testing.assert_close(restored.std, torch.tensor([1.0, 2.0], dtype=torch.float64))
    with pytest.raises(ValueError, match="objectives"):
        RunningNormaliser(num_objectives=3).load_state_dict(state)


def test_wrong_number_of_objectives_raises():
    with pytest.raises(ValueError, match="expected 2 objectives"):
        RunningNormaliser(num_objectives=2).update(torch.zeros(4, 3))


def test_zscore_stats_population_std_and_constant_column():
    rewards = torch.tensor([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0], [6.0, 7.0]])
    # column 0: mean 3, var (4 + 1 + 0 + 9) / 4 = 3.5; column 1 constant -> std replaced by 1
    mean, std = zscore_stats(rewards)
    assert mean.shape == std.shape == (2,)
    torch.testing.assert_close(mean, torch.tensor([3.0, 7.0]))
    torch.testing.assert_close(std, torch.tensor([3.5**0.5, 1.0]))


def test_zscore_hand_computed():
    rewards = torch.tensor([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0]], dtype=torch.float64)
    # column 0: (r - 3) / 2; column 1: (r - 20) / 10
    z = zscore(rewards, torch.tensor([3.0, 20.0], dtype=torch.float64), torch.tensor([2.0, 10.0], dtype=torch.float64))
    assert z.tolist() == [[-1.0, -1.0], [0.0, -1.0], [1.0, 2.0]]
    assert z.dtype == torch.float64


def test_zscore_with_zscore_stats_gives_zero_mean_unit_std():
    rewards = torch.tensor([[1.0, 7.0], [3.0, 7.0], [5.0, 7.0]])
    z = zscore(rewards, *zscore_stats(rewards))
    # column 0: mean 3, population std sqrt(8/3); column 1 is constant: std 1, so it is only centred
    torch.testing.assert_close(z[:, 0], torch.tensor([-2.0, 0.0, 2.0]) / (8 / 3) ** 0.5)
    assert z[:, 1].tolist() == [0.0, 0.0, 0.0]


def test_zscore_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="objectives"):
        zscore(torch.zeros(2, 3), torch.zeros(2), torch.ones(2))
    with pytest.raises(ValueError, match="mean and std"):
        zscore(torch.zeros(2, 2), torch.zeros(2), torch.ones(3))
