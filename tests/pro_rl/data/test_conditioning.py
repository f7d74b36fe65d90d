import random

import pytest

from pro_rl.data.conditioning import (ric_prompt, ric_random_targets, ric_targets_from_weights, score_tags,
                                      wic_prompt)

PROMPT = "\n\nHuman: how do i fix my bike ?\n\nAssistant:"


def test_wic_prompt_appends_two_decimal_weight_tags():
    assert wic_prompt(PROMPT, [0.7, 0.15, 0.15]) == PROMPT + " <W1> 0.70 <W2> 0.15 <W3> 0.15"
    assert wic_prompt("Hi", [1, 0]) == "Hi <W1> 1.00 <W2> 0.00"
    assert wic_prompt("Hi", [1 / 3, 2 / 3]) == "Hi <W1> 0.33 <W2> 0.67"


def test_ric_prompt_inserts_one_decimal_scores_before_assistant():
    expected = "\n\nHuman: how do i fix my bike ? <rm1_score> -0.3 <rm2_score> 1.2\n\nAssistant:"
    assert ric_prompt(PROMPT, [-0.31, 1.24]) == expected


def test_ric_prompt_uses_the_last_assistant_marker_and_appends_without_one():
    prompt = "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant:"
    assert ric_prompt(prompt, [0.0]) == "\n\nHuman: a\n\nAssistant: b\n\nHuman: c <rm1_score> 0.0\n\nAssistant:"
    assert ric_prompt("<|user|>hi", [2.0]) == "<|user|>hi <rm1_score> 2.0"


def test_negative_zero_is_written_as_zero():
    assert score_tags([-0.04]) == "<rm1_score> 0.0"


def test_empty_vectors_are_errors():
    with pytest.raises(ValueError):
        wic_prompt("x", [])
    with pytest.raises(ValueError):
        ric_prompt("x", [])


def test_ric_random_targets_one_objective_random_others_max():
    score_max = [1.5, 2.5, 3.5]
    for seed in range(20):
        targets = ric_random_targets(random.Random(seed), score_max, 3)
        differing = [k for k in range(3) if targets[k] != score_max[k]]
        assert len(differing) <= 1
        for k in differing:
            assert -4.3 <= targets[k] <= 4.3
    assert ric_random_targets(random.Random(0), score_max, 3) == ric_random_targets(random.Random(0), score_max, 3)
    with pytest.raises(ValueError):
        ric_random_targets(random.Random(0), score_max, 2)


def test_ric_targets_from_weights():
    # K = 2, min (-2, -1), max (2, 3): w = (0.5, 0.5) -> both at max; w = (0.8, 0.2) -> s2 = -1 + 2*0.2*4 = 0.6
    assert ric_targets_from_weights([0.5, 0.5], [-2, -1], [2, 3]) == [2.0, 3.0]
    assert ric_targets_from_weights([0.8, 0.2], [-2, -1], [2, 3]) == pytest.approx([2.0, 0.6])
    assert ric_targets_from_weights([1.0, 0.0], [-2, -1], [2, 3]) == [2.0, -1.0]
