"""MORA's formulas on hand-computed tables: statistics, detection, max-margin pairs, variance and coverage."""

import math

import pytest
import torch

from pro_rl.algorithms.mora import (
    DETECTION_DEFAULTS,
    detection_scores,
    max_margin_pairs,
    pareto_coverage,
    prompt_statistics,
    reward_dimension_variance,
    single_reward_mask,
)

# two prompts × two samples × K = 2
REWARDS = torch.tensor([[1.0, 0.0], [0.0, 0.2], [0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)


def test_prompt_statistics_hand_computed():
    statistics = prompt_statistics(REWARDS, num_samples=2)
    assert statistics.mean.flatten().tolist() == pytest.approx([0.5, 0.1, 0.5, 0.5])
    assert statistics.max.tolist() == [[1.0, 0.2], [0.5, 0.5]]
    # population variance (divisor n): ((1 - .5)² + (0 - .5)²) / 2 = 0.25; ((0 - .1)² + (.2 - .1)²) / 2 = 0.01
    assert statistics.variance.flatten().tolist() == pytest.approx([0.25, 0.01, 0.0, 0.0])


def test_prompt_statistics_rejects_a_ragged_matrix():
    with pytest.raises(ValueError, match=r"\(N \* 3, K\)"):
        prompt_statistics(REWARDS, num_samples=3)


def test_single_reward_mask_on_a_hand_made_score_table():
    statistic = torch.tensor([
        [1.0, 0.2, 0.0],   # only helpful high: single, dominant 0
        [1.0, 0.7, 0.2],   # two high: not single
        [0.2, 0.1, 0.0],   # none high: not single (dominant still reported)
        [0.2, 0.4, 0.2],   # only the second: single, dominant 1
        [0.7, 0.7, 0.0],   # tie at the top: dominant is the first, the other is high too: not single
        [0.3, 0.29, 0.0],  # at the thresholds: dominant ≥ 0.3, other < 0.3: single
    ])
    mask, dominant = single_reward_mask(statistic, high=0.3, low=0.3)
    assert mask.tolist() == [True, False, False, True, False, True]
    assert dominant.tolist() == [0, 0, 0, 1, 0, 0]


def test_single_reward_mask_low_below_high_leaves_a_gap():
    statistic = torch.tensor([[0.9, 0.4], [0.9, 0.1], [0.6, 0.1]])
    mask, _ = single_reward_mask(statistic, high=0.8, low=0.3)
    assert mask.tolist() == [False, True, False]
    with pytest.raises(ValueError, match="low ≤ high"):
        single_reward_mask(statistic, high=0.3, low=0.8)


def test_detection_defaults_detect_the_max_statistic_of_world_like_scores():
    # prompt 0: single-intent howto (humor capped at 0.2); prompt 1: helpful and humor both invited
    rewards = torch.tensor([[1.0, 0.0, 0.0], [0.7, -0.3, 0.2], [1.0, 0.0, 1.0], [0.0, 0.0, 0.4]])
    statistic = getattr(prompt_statistics(rewards, 2), DETECTION_DEFAULTS["statistic"])
    mask, dominant = single_reward_mask(statistic, DETECTION_DEFAULTS["high"], DETECTION_DEFAULTS["low"])
    assert mask.tolist() == [True, False]
    assert dominant.tolist() == [0, 0]


def test_detection_scores_hand_computed():
    mask = torch.tensor([True, True, False, False, True])
    truth = torch.tensor([True, False, True, False, True])
    scores = detection_scores(mask, truth)
    assert scores == {"precision": pytest.approx(2 / 3), "recall": pytest.approx(2 / 3), "true_positives": 2,
                      "predicted": 3, "actual": 3}
    nothing = detection_scores(torch.zeros(3, dtype=torch.bool), torch.tensor([True, False, False]))
    assert math.isnan(nothing["precision"]) and nothing["recall"] == 0.0


def test_max_margin_pairs_with_ties():
    totals = torch.tensor([1.0, 3.0, 3.0, 0.0,    # prompt 0: first max 1, min 3
                           2.0, 2.0, 2.0, 2.0,    # prompt 1: all tie, no pair
                           5.0, 1.0, 1.0, 4.0])   # prompt 2: max 8, last of the two minima 10
    chosen, rejected, margin, has_pair = max_margin_pairs(totals, num_samples=4)
    assert chosen.tolist() == [1, 4, 8]
    assert rejected.tolist() == [3, 7, 10]
    assert margin.tolist() == [3.0, 0.0, 4.0]
    assert has_pair.tolist() == [True, False, True]


def test_max_margin_pairs_min_margin_and_valid_samples():
    totals = torch.tensor([1.0, 0.5, 9.0, 0.0, 0.2, 0.0])
    valid = torch.tensor([True, True, False, True, True, True])  # 9.0 may not be chosen
    chosen, rejected, margin, has_pair = max_margin_pairs(totals, 3, valid=valid, min_margin=0.5)
    assert chosen.tolist() == [0, 4] and rejected.tolist() == [1, 5]
    assert margin.tolist() == pytest.approx([0.5, 0.2])
    assert has_pair.tolist() == [False, False]  # margins ≤ 0.5
    one_valid = torch.tensor([False, True, False, True, True, True])
    _, _, _, has_pair = max_margin_pairs(totals, 3, valid=one_valid)
    assert has_pair.tolist() == [False, True]  # a prompt with a single valid sample gives no pair


def test_reward_dimension_variance_is_the_mean_within_prompt_variance():
    assert reward_dimension_variance(REWARDS, 2).tolist() == pytest.approx([0.125, 0.005])


def test_pareto_coverage_hand_computed():
    rewards = torch.tensor([[1.0, 0.5], [0.5, 1.0],     # union of two boxes: 0.5 + 0.5·0.5 = 0.75
                            [2.0, 2.0], [-1.0, 0.0],    # clipped to the ideal: the whole box
                            [1.0, 0.0], [0.0, 1.0]])    # on the reference's edges: no volume
    coverage = pareto_coverage(rewards, 2, reference=[0.0, 0.0], ideal=[1.0, 1.0])
    assert coverage.tolist() == pytest.approx([0.75, 1.0, 0.0])
    halved = pareto_coverage(rewards[:2], 2, reference=[0.0, 0.0], ideal=[2.0, 1.0])
    assert halved.tolist() == pytest.approx([0.75 / 2])
    with pytest.raises(ValueError, match="ideal > reference"):
        pareto_coverage(rewards, 2, reference=[0.0, 0.0], ideal=[1.0, 0.0])
