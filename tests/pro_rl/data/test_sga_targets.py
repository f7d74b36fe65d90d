"""SGA score targets: each source's mapping to [0, 1] on hand-computed values, and the errors naming the row."""

import math

import pytest
import torch

from pro_rl.data.errors import DataError
from pro_rl.data.sga_targets import rating_targets, resolve_score_source, reward_model_targets, toy_world_targets


def test_helpsteer2_is_s_over_4_and_ultrafeedback_is_s_minus_1_over_4():
    rows = [{"helpfulness": 4, "verbosity": 1}, {"helpfulness": 0, "verbosity": 3}]
    torch.testing.assert_close(rating_targets(rows, ["helpfulness", "verbosity"], "helpsteer2", "hs2.jsonl"),
                               torch.tensor([[1.0, 0.25], [0.0, 0.75]]))
    rows = [{"honesty": 5.0, "helpfulness": 2.0}]
    torch.testing.assert_close(rating_targets(rows, ["helpfulness", "honesty"], "ultrafeedback", "uf"),
                               torch.tensor([[0.25, 1.0]]))
    torch.testing.assert_close(rating_targets([{"a": 0.3}], ["a"], "scores", "x"), torch.tensor([[0.3]]))


@pytest.mark.parametrize("row, problem", [({"helpful": 0.5}, "scores['harmless'] is None"),
                                          ({"helpful": 0.5, "harmless": 1.5}, "scores['harmless'] is 1.5"),
                                          ({"helpful": math.nan, "harmless": 0.5}, "scores['helpful'] is nan"),
                                          (None, "scores['helpful'] is None")])
def test_a_missing_or_off_scale_score_names_the_row(row, problem):
    rows = [{"helpful": 0.1, "harmless": 0.2}, row]
    with pytest.raises(DataError, match=r"pairs.jsonl, row 1") as error:
        rating_targets(rows, ["helpful", "harmless"], "scores", "pairs.jsonl")
    assert problem in str(error.value) and "[0, 1]" in str(error.value)


def test_reward_model_targets_are_the_sigmoid_of_z_scores():
    rewards = torch.tensor([[1.0, 10.0], [3.0, 10.0]])
    targets, mean, std = reward_model_targets(rewards)
    torch.testing.assert_close(mean, torch.tensor([2.0, 10.0], dtype=torch.float64))
    # column 0: z = -1, +1; column 1 has no spread: std 1, z = 0
    expected = torch.tensor([[1 / (1 + math.e), 0.5], [1 / (1 + math.exp(-1)), 0.5]])
    torch.testing.assert_close(targets, expected)
    assert std.tolist() == [1.0, 1.0]


def test_toy_world_targets_map_minus_0_6_to_0_and_1_to_1():
    main_only = " first check the bike , then follow each step in order ."
    two_kinds = main_only + " haha , the lamp walked into a bar and ordered a pun !"
    targets = toy_world_targets([main_only, two_kinds, " ok ."], ["helpful", "harmless", "humor"])
    # rewards: (1, -0.3, -0.3); (0.7, -0.6, 0.7); (0, 0, 0); mapped by (r + 0.6) / 1.6
    expected = torch.tensor([[1.0, 0.1875, 0.1875], [0.8125, 0.0, 0.8125], [0.375, 0.375, 0.375]])
    torch.testing.assert_close(targets, expected)
    with pytest.raises(ValueError, match="not the toy world's"):
        toy_world_targets([main_only], ["helpful", "verbosity"])


def test_auto_source_follows_the_adapter():
    assert resolve_score_source("auto", "helpsteer2", True) == "helpsteer2"
    assert resolve_score_source("auto", "ultrafeedback", True) == "ultrafeedback"
    assert resolve_score_source("auto", "canonical", True) == "scores"
    assert resolve_score_source("auto", "canonical", False) == "reward_models"
    assert resolve_score_source("auto", "hh_rlhf", False) == "reward_models"
    assert resolve_score_source("toy_world", "canonical", True) == "toy_world"
