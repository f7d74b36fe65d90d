import pytest
import torch

from pro_rl.data import toy_world
from pro_rl.training.evaluation_statistics import (
    GROUND_TRUTH_MEASURE,
    REWARD_MODEL_MEASURE,
    appropriate_answers,
    is_toy_world,
    paired_difference,
    per_prompt,
    prompt_statistics,
    seed_spread,
    seed_suffix,
    verdict_key,
    verdict_sentence,
)

OBJECTIVES = list(toy_world.OBJECTIVES)


def segment(kind: str) -> str:
    return toy_world.SEGMENTS[kind][0].format(topic="bike")


def point_with(values, key="ground_truth_scalarised"):
    return {"per_prompt": {key: list(values)}}


def test_per_prompt_averages_consecutive_samples():
    values = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, 4.0], [7.0, 8.0]])
    assert per_prompt(values, 2).tolist() == [[2.0, 1.0], [6.0, 6.0]]


def test_verdict_sentence_ahead_behind_and_no_difference_from_hand_made_prompts():
    baseline = point_with([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    ahead = paired_difference(point_with([0.4, 0.5, 0.6, 0.7, 0.8, 0.9]), baseline, resamples=500)
    assert (ahead["mean"], ahead["low"], ahead["high"]) == pytest.approx((0.3, 0.3, 0.3))
    assert verdict_sentence("PRO-MORLHF", "MORLHF", ahead) == (
        "PRO-MORLHF is ahead of MORLHF by 0.300 [0.300, 0.300] on the w*-scalarised ground-truth reward "
        "(95 % bootstrap interval, paired over 6 held-out prompts).")
    behind = paired_difference(point_with([0.0, 0.1, 0.2, 0.3, 0.4, 0.4]), baseline, resamples=500)
    assert behind["high"] < 0
    assert verdict_sentence("PRO-MORLHF", "MORLHF", behind).startswith(
        f"PRO-MORLHF is behind MORLHF by {-behind['mean']:.3f} [{-behind['high']:.3f}, {-behind['low']:.3f}] on the")
    # differences +0.2 and −0.2 in turn: mean 0, the interval straddles 0
    mixed = paired_difference(point_with([0.3, 0.0, 0.5, 0.2, 0.7, 0.4]), baseline, resamples=500)
    assert mixed["low"] < 0 < mixed["high"] and mixed["mean"] == pytest.approx(0.0, abs=1e-12)
    assert verdict_sentence("PRO-MORLHF", "MORLHF", mixed).startswith(
        "PRO-MORLHF and MORLHF: no significant difference (+0.000 [")


def test_verdict_is_judged_at_the_printed_precision():
    borderline = {"mean": 0.039, "low": 0.0004, "high": 0.078, "measure": GROUND_TRUTH_MEASURE, "level": 0.95,
                  "num_prompts": 150}
    assert verdict_sentence("PRO-MORLHF", "MORLHF", borderline).startswith(
        "PRO-MORLHF and MORLHF: no significant difference (+0.039 [+0.000, +0.078])")
    assert verdict_sentence("PRO-MORLHF", "MORLHF", {**borderline, "low": 0.0006}).startswith(
        "PRO-MORLHF is ahead of MORLHF by 0.039 [0.001, 0.078]")


def test_paired_difference_falls_back_to_reward_model_scores_and_refuses_unpaired_points():
    rm_only = point_with([1.0, 2.0], key="true_scalarised")
    both = {"per_prompt": {"true_scalarised": [0.0, 1.0], "ground_truth_scalarised": [0.0, 0.0]}}
    assert verdict_key(both, rm_only) == "true_scalarised"
    difference = paired_difference(rm_only, both, resamples=100)
    assert difference["measure"] == REWARD_MODEL_MEASURE and difference["mean"] == 1.0
    assert paired_difference(point_with([1.0, 2.0, 3.0]), point_with([1.0, 2.0])) is None
    assert paired_difference({"per_prompt": {}}, both) is None


def test_prompt_statistics_reports_ground_truth_beside_the_reward_models_and_per_prompt_values():
    helpful, humor = " " + segment("helpful"), " " + segment("humor")
    responses = [helpful, humor, humor, humor]  # prompt 0 (howto): half right; prompt 1 (fun): both right
    truth = torch.tensor([[0.7, 0.15, 0.15], [0.15, 0.15, 0.7]], dtype=torch.float64)
    rewards = torch.tensor([[1.0, 0.0, 0.0], [3.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 4.0, 0.0]])
    stats = prompt_statistics(rewards, responses, truth, OBJECTIVES, samples=2, toy_world=True, resamples=200)
    assert stats["num_prompts"] == 2 and stats["samples_per_prompt"] == 2
    # reward-model w*-scalarised per prompt: mean of (0.7, 2.1) = 1.4 and of (0.3, 0.6) = 0.45
    assert stats["per_prompt"]["true_scalarised"] == pytest.approx([1.4, 0.45])
    assert stats["rewards_interval"][0] == pytest.approx([0.0, 2.0])  # two prompts: helpful means 2.0 and 0.0
    expected = [sum(toy_world.scalarised_truth(r, dict(zip(OBJECTIVES, w.tolist()))) for r in pair) / 2
                for pair, w in zip([responses[:2], responses[2:]], truth)]
    assert stats["per_prompt"]["ground_truth_scalarised"] == pytest.approx(expected)
    assert stats["ground_truth_scalarised"] == pytest.approx(sum(expected) / 2)
    low, high = stats["ground_truth_scalarised_interval"]
    assert low == pytest.approx(min(expected)) and high == pytest.approx(max(expected))
    humor_truth = [toy_world.objective_rewards(r)["humor"] for r in responses]
    assert stats["ground_truth_rewards"][2] == pytest.approx(sum(humor_truth) / 4)
    assert stats["per_prompt"]["ground_truth/helpful"] == pytest.approx([0.5 * (1.0 - 0.3), -0.3])
    assert stats["per_prompt"]["ground_truth/humor"] == pytest.approx([0.5 * (1.0 - 0.3), 1.0])
    assert stats["per_prompt"]["appropriate"] == pytest.approx([0.5, 1.0])  # howto: 1 of 2 helpful; fun: 2 of 2 jokes


def test_appropriate_answers_want_the_category_segment_alone():
    helpful, harmless, humor = (segment(kind) for kind in ("helpful", "harmless", "humor"))
    responses = [helpful, helpful + " ok .", helpful + " " + humor, harmless, "ok .", humor]
    wanted = ["helpful", "helpful", "helpful", "helpful", "helpful", "humor"]
    assert appropriate_answers(responses, wanted).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def test_prompt_statistics_without_truth_or_toy_world():
    rewards = torch.tensor([[1.0], [1.0]])
    stats = prompt_statistics(rewards, ["a", "b"], None, ["helpful"], samples=1, toy_world=False, resamples=50)
    assert stats["rewards_interval"] == [[1.0, 1.0]]
    assert stats["true_scalarised_interval"] is None and stats["ground_truth_scalarised"] is None
    assert stats["per_prompt"] == {}
    stats = prompt_statistics(rewards, ["a", "b"], torch.ones(2, 1), ["helpful"], 1, toy_world=False, resamples=50)
    assert list(stats["per_prompt"]) == ["true_scalarised"] and stats["ground_truth_rewards"] is None


def test_is_toy_world_needs_toy_objectives_and_category_weights():
    rows = [toy_world.true_weights(c) for c in toy_world.CATEGORIES]
    assert is_toy_world(rows, OBJECTIVES) and is_toy_world(rows, ["humor"])
    assert not is_toy_world(rows, ["helpful", "honest"])
    assert not is_toy_world([*rows, {"helpful": 0.5, "harmless": 0.5, "humor": 0.0}], OBJECTIVES)
    assert not is_toy_world([], OBJECTIVES) and not is_toy_world([None], OBJECTIVES)


def test_seed_spread_is_the_sample_standard_deviation():
    assert seed_spread([1.0, 2.0, 3.0]) == {"mean": 2.0, "std": 1.0, "values": [1.0, 2.0, 3.0]}
    assert seed_spread([0.25]) == {"mean": 0.25, "std": 0.0, "values": [0.25]}
    assert GROUND_TRUTH_MEASURE == "w*-scalarised ground-truth reward"


def test_seed_suffix_keeps_the_first_seeds_names():
    assert seed_suffix(0, 7) == "" and seed_suffix(2, 9) == "_seed9"
