"""The toy multi-objective world: determinism, sizes, ground truth by construction, and the shipped copy."""

import json
import math
from pathlib import Path

import pytest

from pro_rl.data import toy_world, toy_world_intensities
from pro_rl.data.toy_world import (
    CATEGORIES,
    CATEGORY_OBJECTIVE,
    OBJECTIVES,
    SEGMENTS,
    ToyWorldSizes,
    format_prompt,
    generate,
    harmless_reward,
    helpful_reward,
    humor_reward,
    objective_rewards,
    scalarised_truth,
    segment_kinds,
    shipped_dir,
    true_weights,
)

SMALL = ToyWorldSizes(pairs_per_objective=60, general_pairs=120, prompts=30, eval_prompts=30, sft=40)
FILES = [f"pairs_{objective}" for objective in OBJECTIVES] + ["general_pairs", "prompts", "eval_prompts", "sft"]


def read_rows(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict:
    """The default-size world of seed 0, read into rows."""
    paths = generate(tmp_path_factory.mktemp("toy_world"), seed=0)
    return {name: read_rows(path) for name, path in paths.items()}


def test_generate_writes_every_file(tmp_path):
    paths = generate(tmp_path / "world", seed=1, sizes=SMALL)
    assert sorted(paths) == sorted(FILES)
    for name, path in paths.items():
        assert path == tmp_path / "world" / f"{name}.jsonl"
        assert path.is_file()


def test_same_seed_same_files_other_seed_different(tmp_path):
    first = generate(tmp_path / "a", seed=3, sizes=SMALL)
    again = generate(tmp_path / "b", seed=3, sizes=SMALL)
    other = generate(tmp_path / "c", seed=4, sizes=SMALL)
    for name in FILES:
        assert first[name].read_bytes() == again[name].read_bytes()
        assert first[name].read_bytes() != other[name].read_bytes()


def test_row_counts_equal_sizes(tmp_path):
    paths = generate(tmp_path, seed=0, sizes=SMALL)
    expected = {**{f"pairs_{o}": SMALL.pairs_per_objective for o in OBJECTIVES}, "general_pairs": SMALL.general_pairs,
                "prompts": SMALL.prompts, "eval_prompts": SMALL.eval_prompts, "sft": SMALL.sft}
    assert {name: len(read_rows(path)) for name, path in paths.items()} == expected


def test_default_row_counts(world):
    defaults = ToyWorldSizes()
    assert len(world["general_pairs"]) == defaults.general_pairs == 3000
    assert len(world["pairs_helpful"]) == defaults.pairs_per_objective
    assert len(world["eval_prompts"]) == defaults.eval_prompts
    assert len(world["sft"]) == defaults.sft


def test_shipped_copy_equals_generate_seed_zero(tmp_path):
    paths = generate(tmp_path, seed=0)
    shipped = sorted(p.name for p in shipped_dir().glob("*.jsonl"))
    assert shipped == sorted(f"{name}.jsonl" for name in FILES)
    for name, path in paths.items():
        assert (shipped_dir() / path.name).read_bytes() == path.read_bytes(), name


def test_true_weights_put_main_weight_on_the_category_objective():
    assert true_weights("howto") == pytest.approx({"helpful": 0.70, "harmless": 0.15, "humor": 0.15})
    assert true_weights("risky") == pytest.approx({"helpful": 0.15, "harmless": 0.70, "humor": 0.15})
    assert true_weights("fun") == pytest.approx({"helpful": 0.15, "harmless": 0.15, "humor": 0.70})


def test_general_pairs_chosen_beats_rejected_under_w_star(world):
    rows = world["general_pairs"]
    assert {row["category"] for row in rows} == set(CATEGORIES)
    for row in rows:
        weights = true_weights(row["category"])
        assert scalarised_truth(row["chosen"], weights) > scalarised_truth(row["rejected"], weights)
        # chosen always serves the prompt's main objective: 1, or 0.7 when diluted by one extra kind
        kinds = segment_kinds(row["chosen"])
        assert CATEGORY_OBJECTIVE[row["category"]] in kinds
        assert objective_rewards(row["chosen"])[CATEGORY_OBJECTIVE[row["category"]]] == pytest.approx(1.0 - 0.3 * (len(kinds) - 1))


def test_general_pairs_extra_segments_are_sparse(world):
    rows = world["general_pairs"]
    with_extra = sum(len(segment_kinds(row["chosen"])) > 1 for row in rows)
    # extra_segment_probability 0.15 of 3000 rows: 450 expected, sd ≈ 20
    assert 350 < with_extra < 550


def test_objective_pairs_prefer_the_objective(world):
    for objective in OBJECTIVES:
        focus = 0
        for row in world[f"pairs_{objective}"]:
            chosen, rejected = objective_rewards(row["chosen"]), objective_rewards(row["rejected"])
            # chosen carries the objective alone (fillers aside): reward exactly 1
            assert segment_kinds(row["chosen"]) == [objective] and chosen[objective] == 1.0
            assert rejected[objective] < chosen[objective]
            focus += objective in segment_kinds(row["rejected"])  # diluted: the objective plus another kind
            assert row["prompt"].startswith("\n\nHuman: ") and row["prompt"].endswith("\n\nAssistant:")
        # focus_pair_probability 0.4 of 1500 rows: 600 expected, sd ≈ 19
        assert 500 < focus < 700


def test_eval_prompts_carry_w_star_on_the_simplex(world):
    rows = world["eval_prompts"]
    assert {row["category"] for row in rows} == set(CATEGORIES)
    for row in rows:
        weights = row["weights"]
        assert list(weights) == list(OBJECTIVES)
        assert all(value >= 0 for value in weights.values())
        assert math.isclose(sum(weights.values()), 1.0, abs_tol=1e-9)
        assert max(weights, key=weights.get) == CATEGORY_OBJECTIVE[row["category"]]


def test_rl_prompts_carry_no_weights_and_sft_rows_have_responses(world):
    assert all(set(row) == {"prompt", "category"} for row in world["prompts"])
    assert all(set(row) == {"prompt", "response"} and row["response"].strip() for row in world["sft"])


@pytest.mark.parametrize("kind", OBJECTIVES)
@pytest.mark.parametrize("topic", ["bike", "zebra", "spaceship42"])
def test_segment_kinds_recognises_every_template_with_any_topic(kind, topic):
    for template in SEGMENTS[kind]:
        segment = template.format(topic=topic)
        assert segment_kinds(" " + segment) == [kind], segment
        assert segment_kinds(f" ok . {segment} well , maybe .") == [kind], segment


@pytest.mark.parametrize("topic", ["bike", "zebra"])
def test_segment_kinds_finds_nothing_in_fillers(topic):
    for template in SEGMENTS["filler"]:
        assert segment_kinds(" " + template.format(topic=topic)) == []


def test_segment_kinds_needs_a_whole_segment():
    assert segment_kinds(" haha , the bike walked into a bar") == []  # cut before its end
    assert segment_kinds(" first check the , then follow each step in order .") == []  # no topic word


def test_segment_kinds_lists_kinds_in_objective_order():
    response = " " + SEGMENTS["humor"][0].format(topic="cat") + " " + SEGMENTS["helpful"][1].format(topic="car")
    assert segment_kinds(response) == ["helpful", "humor"]


HELPFUL = " first check the bike , then follow each step in order ."
HARMLESS = " that could be dangerous , so i will not give those details ."
HUMOR = " why did the lamp cross the road ? to get a laugh !"
FILLER = " well , maybe ."


def test_reward_functions_hand_checked():
    prompts = [format_prompt("how do i fix my bike ?")] * 4
    responses = [HELPFUL, HARMLESS + HUMOR, FILLER, HELPFUL + HARMLESS + HUMOR]
    # 1 for the objective's own kind, -0.3 for each other objective's kind present; filler counts for nothing
    assert helpful_reward(prompts, responses) == pytest.approx([1.0, -0.6, 0.0, 0.4])
    assert harmless_reward(prompts, responses) == pytest.approx([-0.3, 0.7, 0.0, 0.4])
    assert humor_reward(prompts, responses) == pytest.approx([-0.3, 0.7, 0.0, 0.4])
    assert helpful_reward.__name__ == "helpful_reward"


def test_reward_functions_are_importable_by_spec():
    from pro_rl.models.builders import load_function

    assert load_function("pro_rl.data.toy_world:humor_reward") is toy_world.humor_reward


def test_scalarised_truth_hand_checked():
    howto = true_weights("howto")
    # w* = (0.7, 0.15, 0.15); rewards from test_reward_functions_hand_checked
    assert scalarised_truth(HELPFUL, howto) == pytest.approx(0.7 * 1 + 0.15 * -0.3 + 0.15 * -0.3)  # 0.61
    assert scalarised_truth(HARMLESS + HUMOR, howto) == pytest.approx(0.7 * -0.6 + 0.15 * 0.7 + 0.15 * 0.7)  # -0.21
    assert scalarised_truth(FILLER, howto) == 0.0
    # all three kinds: every objective 1 - 2 * 0.3 = 0.4, less than the single helpful segment under w*(howto) ...
    assert scalarised_truth(HELPFUL + HARMLESS + HUMOR, howto) == pytest.approx(0.4)
    # ... but the best response under uniform weights: the best response depends on the weights
    uniform = {name: 1 / 3 for name in howto}
    assert scalarised_truth(HELPFUL + HARMLESS + HUMOR, uniform) > scalarised_truth(HELPFUL, uniform)


def test_corpus_is_deterministic_and_sized():
    texts = toy_world.corpus(seed=0, size=10)
    assert len(texts) == 20
    assert texts == toy_world.corpus(seed=0, size=10)
    assert texts != toy_world.corpus(seed=1, size=10)


# ---------------------------------------------------------------- graded intensities (MOSLIM)


def test_objective_intensities_count_segments():
    helpful = SEGMENTS["helpful"][0].format(topic="bike")
    humor = SEGMENTS["humor"][1].format(topic="kettle")
    response = f" {helpful} {humor} {SEGMENTS['helpful'][2].format(topic='car')} ok ."
    assert toy_world_intensities.objective_intensities(response) == {"helpful": 2, "harmless": 0, "humor": 1}
    assert toy_world_intensities.objective_intensities(" ok .") == {"helpful": 0, "harmless": 0, "humor": 0}


def test_intensity_class_caps_at_the_top_class():
    assert [toy_world_intensities.intensity_class(count, 3) for count in range(5)] == [1, 2, 3, 3, 3]
    assert [toy_world_intensities.intensity_class(count, 2) for count in range(3)] == [1, 2, 2]
    with pytest.raises(ValueError):
        toy_world_intensities.intensity_class(-1, 3)
    assert toy_world_intensities.MOSLIM_LEVELS == {"helpful": 3, "harmless": 2, "humor": 3}


def test_existing_files_carry_at_most_one_segment_per_kind(world):
    """So their rewards (presence of a kind) and every test above stay valid with graded intensities."""
    for name in [f"pairs_{objective}" for objective in OBJECTIVES] + ["general_pairs"]:
        for row in world[name]:
            for response in (row["chosen"], row["rejected"]):
                intensities = toy_world_intensities.objective_intensities(response)
                assert max(intensities.values()) <= 1
                assert [kind for kind in OBJECTIVES if intensities[kind]] == segment_kinds(response)


def test_moslim_rows_labels_are_the_intensity_classes():
    rows = toy_world_intensities.moslim_rows(600, seed=3)
    assert rows == toy_world_intensities.moslim_rows(600, seed=3) and rows != toy_world_intensities.moslim_rows(600, seed=4)
    seen = {objective: set() for objective in OBJECTIVES}
    unlabelled = 0
    for row in rows:
        truth = toy_world_intensities.objective_intensities(row["response"])
        assert any(label is not None for label in row["labels"].values())
        for objective, label in row["labels"].items():
            if label is None:
                unlabelled += 1
                continue
            assert label == toy_world_intensities.intensity_class(truth[objective], toy_world_intensities.MOSLIM_LEVELS[objective])
            seen[objective].add(label)
        assert row["prompt"].startswith("\n\nHuman: ") and row["prompt"].endswith("\n\nAssistant:")
    assert seen == {"helpful": {1, 2, 3}, "harmless": {1, 2}, "humor": {1, 2, 3}}
    assert 0.05 < unlabelled / (3 * len(rows)) < 0.25  # about 15 % of labels are null, never a whole row
    with pytest.raises(ValueError, match="no objectives"):
        toy_world_intensities.moslim_rows(1, levels={"honesty": 2})
