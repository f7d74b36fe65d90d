import json
from types import SimpleNamespace

import pytest
import torch

from pro_rl.algorithms.rejection import quantile_filter
from pro_rl.data import toy_world
from pro_rl.data.toy_world_graded import WORLD_GRADED, helpful_reward, humor_reward, world_version

FIRST_HELPFUL = " first check the bike , then follow each step in order ."  # template 0 of 4: grade 0, 12 words
LAST_HUMOR = " a kettle , a duck and a banana start a comedy club ."  # template 3 of 4: grade 1, 13 words


def test_graded_rewards_hand_computed():
    assert WORLD_GRADED.objective_rewards(FIRST_HELPFUL) == pytest.approx(
        {"helpful": 1 - 0.06, "harmless": -0.3 - 0.06, "humor": -0.3 - 0.06})  # g = 0.1 * 0 - 0.005 * 12
    assert WORLD_GRADED.objective_rewards(LAST_HUMOR) == pytest.approx(
        {"helpful": -0.3 + 0.035, "harmless": -0.3 + 0.035, "humor": 1.035})  # g = 0.1 * 1 - 0.005 * 13
    both = FIRST_HELPFUL + LAST_HUMOR  # quality (0 + 1) / 2, 25 words: g = 0.05 - 0.125; helpful 1 - 0.3 + g
    assert WORLD_GRADED.objective_rewards(both)["helpful"] == pytest.approx(0.7 + 0.05 - 0.125)
    assert helpful_reward(["p"], [FIRST_HELPFUL]) == [pytest.approx(0.94)]
    assert humor_reward(["p"], [LAST_HUMOR]) == [pytest.approx(1.035)]


def test_version_1_is_unchanged_and_version_2_adds_the_same_term_to_every_scalarisation():
    assert toy_world.objective_rewards(FIRST_HELPFUL) == {"helpful": 1.0, "harmless": -0.3, "humor": -0.3}
    weights = toy_world.true_weights("howto")
    for response in (FIRST_HELPFUL, LAST_HUMOR, " ok ."):
        assert WORLD_GRADED.scalarised_truth(response, weights) == pytest.approx(
            toy_world.scalarised_truth(response, weights) + WORLD_GRADED.graded_term(response))


def _reward_matrix(world, responses):
    return torch.tensor([[world.objective_rewards(r)[k] for k in toy_world.OBJECTIVES] for r in responses],
                        dtype=torch.float64)


def test_each_objectives_quantile_filter_keeps_about_one_minus_q_of_the_sft_rows():
    responses = [json.loads(line)["response"] for line in (toy_world.shipped_dir() / "sft.jsonl").open()]
    for world, low, high in ((toy_world.WORLD, 0.35, 0.41), (WORLD_GRADED, 0.29, 0.32)):
        matrix = _reward_matrix(world, responses)
        kept = (matrix >= torch.quantile(matrix, 0.7, dim=0)).double().mean(dim=0)
        assert ((kept >= low) & (kept <= high)).all(), (world.spec.name, kept)
    # RiC's rule (any objective) keeps fewer rows than with version 1's ties: 0.79 against 0.88
    assert quantile_filter(_reward_matrix(WORLD_GRADED, responses)).double().mean() == pytest.approx(0.792, abs=0.005)
    assert quantile_filter(_reward_matrix(toy_world.WORLD, responses)).double().mean() == pytest.approx(0.883, abs=0.005)


def test_world_version_reads_the_reward_functions():
    def specs(*models):
        return [SimpleNamespace(name=f"r{i}", model=model) for i, model in enumerate(models)]

    assert world_version(specs("pro_rl.data.toy_world:helpful_reward", "pro_rl.data.toy_world:humor_reward")) \
        == "toy_world v1"
    assert world_version(specs("pro_rl.data.toy_world_graded:helpful_reward")) == "toy_world v2 (graded)"
    assert world_version(specs("pro_rl.data.toy_world_graded:helpful_reward", "pro_rl.data.toy_world:humor_reward")) \
        == "mixed toy_world versions"
    assert world_version(specs("runs/tiny/reward_models/final/helpful")) is None
