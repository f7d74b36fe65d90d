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


# ---------------------------------------------------------------- SGA score text


def test_sga_prompt_inserts_the_score_text_after_the_user_turn():
    from pro_rl.data.conditioning import sga_prompt

    prompt = "\n\nHuman: how do i fix my bike ?\n\nAssistant:"
    conditioned = sga_prompt(prompt, ["helpful", "harmless", "humor"], [0.75, 0.125, 0.1249])
    assert conditioned == ("\n\nHuman: how do i fix my bike ?\nYour response must satisfy the following scores: "
                           "<helpful_score:0.75> and <harmless_score:0.12> and <humor_score:0.12>\n\nAssistant:")


def test_sga_split_cuts_at_the_last_assistant_marker_and_keeps_a_plain_prompt_whole():
    from pro_rl.data.conditioning import sga_prompt, sga_split

    two_turns = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke ?\n\nAssistant:"
    assert sga_split(two_turns) == ("\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke ?", "\n\nAssistant:")
    assert sga_split("Tell me a joke.") == ("Tell me a joke.", "")
    assert sga_prompt("Tell me a joke.", ["humor"], [1]) == \
        "Tell me a joke.\nYour response must satisfy the following scores: <humor_score:1.00>"


def test_sga_score_text_needs_one_score_per_objective():
    from pro_rl.data.conditioning import SGA_SCORE_DECIMALS, sga_score_text

    assert SGA_SCORE_DECIMALS == 2
    assert sga_score_text(["a", "b"], [0.0, -0.0001]) == \
        "\nYour response must satisfy the following scores: <a_score:0.00> and <b_score:0.00>"
    with pytest.raises(ValueError, match="one score per objective"):
        sga_score_text(["a", "b"], [0.5])
    with pytest.raises(ValueError, match="one score per objective"):
        sga_score_text([], [])


# ---------------------------------------------------------------- MOSLIM tags

from pro_rl.data.conditioning import (MoslimTagError, moslim_prompt, moslim_tags, parse_moslim_tags,  # noqa: E402
                                      random_moslim_targets)

MOSLIM_LEVELS = {"helpful": 3, "harmless": 2, "humor": 3}


def test_moslim_tags_in_mapping_order():
    assert moslim_tags({"helpful": 3, "humor": 1}) == "<helpful 3><humor 1>"
    assert moslim_tags({"humor": 2}) == "<humor 2>"
    with pytest.raises(MoslimTagError):
        moslim_tags({})
    with pytest.raises(MoslimTagError, match="names are words"):
        moslim_tags({"two words": 1})
    with pytest.raises(MoslimTagError):
        moslim_tags({"helpful": 0})


def test_moslim_prompt_prefixes_the_user_text():
    assert moslim_prompt(PROMPT, {"helpful": 3, "humor": 1}) == \
        "\n\nHuman: <helpful 3><humor 1> how do i fix my bike ?\n\nAssistant:"
    two_turns = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: a joke ?\n\nAssistant:"
    assert moslim_prompt(two_turns, {"humor": 2}) == \
        "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: <humor 2> a joke ?\n\nAssistant:"
    assert moslim_prompt("Tell me a joke.", {"harmless": 1}) == "<harmless 1> Tell me a joke."


@pytest.mark.parametrize("prompt", [PROMPT, "Tell me a joke.", "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant:"])
def test_parsing_strips_back_to_the_untagged_prompt(prompt):
    targets = {"helpful": 2, "harmless": 1, "humor": 3}
    assert parse_moslim_tags(moslim_prompt(prompt, targets), MOSLIM_LEVELS) == (prompt, targets)
    assert parse_moslim_tags(prompt, MOSLIM_LEVELS) == (prompt, {})


def test_parsed_targets_follow_the_levels_order():
    tagged = "\n\nHuman: <humor 1><helpful 2> hi\n\nAssistant:"
    stripped, targets = parse_moslim_tags(tagged, MOSLIM_LEVELS)
    assert stripped == "\n\nHuman: hi\n\nAssistant:"
    assert list(targets.items()) == [("helpful", 2), ("humor", 1)]


@pytest.mark.parametrize("tagged, problem", [
    ("\n\nHuman: <funny 2> hi\n\nAssistant:", "unknown objective in tag <funny 2>"),
    ("\n\nHuman: <helpful 4> hi\n\nAssistant:", "intensity 4 of tag <helpful 4> is out of 1..3"),
    ("\n\nHuman: <harmless 0> hi\n\nAssistant:", "intensity 0 of tag <harmless 0> is out of 1..2"),
    ("\n\nHuman: <helpful three> hi\n\nAssistant:", "malformed tag <helpful three>"),
    ("\n\nHuman: <helpful 2><> hi\n\nAssistant:", "malformed tag <>"),
    ("\n\nHuman: <helpful 2><helpful 1> hi\n\nAssistant:", "duplicate tag for objective 'helpful'"),
    ("\n\nHuman: hi <helpful 2>\n\nAssistant:", "tag <helpful 2> is not at the start"),
    ("\n\nHuman: <humor 1>hi\n\nAssistant:", "tag <humor 1> is not at the start"),  # no space after the tags
])
def test_every_bad_tag_kind_is_an_error_naming_it(tagged, problem):
    with pytest.raises(MoslimTagError) as error:
        parse_moslim_tags(tagged, MOSLIM_LEVELS)
    assert problem in str(error.value)
    assert isinstance(error.value, ValueError)


def test_random_moslim_targets_respect_counts_and_ranges():
    rng = random.Random(0)
    drawn = [random_moslim_targets(rng, MOSLIM_LEVELS, 1, 3) for _ in range(300)]
    assert {len(targets) for targets in drawn} == {1, 2, 3}
    for targets in drawn:
        assert list(targets) == [name for name in MOSLIM_LEVELS if name in targets]
        assert all(1 <= value <= MOSLIM_LEVELS[name] for name, value in targets.items())
    assert {targets.get("helpful") for targets in drawn} == {None, 1, 2, 3}
    assert random_moslim_targets(random.Random(5), MOSLIM_LEVELS) == \
        random_moslim_targets(random.Random(5), MOSLIM_LEVELS)
    assert all(len(random_moslim_targets(rng, MOSLIM_LEVELS, 2, 2)) == 2 for _ in range(20))
    with pytest.raises(ValueError, match="min_tags"):
        random_moslim_targets(rng, MOSLIM_LEVELS, 4, 5)
