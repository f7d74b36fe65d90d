"""MOSLIM controllability and the ``moslim`` evaluate method: the weights → tags rule, the tag conditions, the
ground-truth measures, monotonicity, and the pipeline end to end (a scripted engine whose responses follow the tags,
and an untrained tiny policy for the plumbing)."""

import json
import random

import pytest
import torch

from pro_rl.config import ConfigError, ModelConfig, load_config
from pro_rl.data import toy_world_intensities
from pro_rl.data.conditioning import parse_moslim_tags
from pro_rl.rollout.base import Rollouts
from pro_rl.training import moslim_controllability
from pro_rl.training.evaluation import prompt_conditioner
from pro_rl.training.moslim_tags import moslim_targets_from_weights
from pro_rl.training.moslim_controllability import (ground_truth, interval_table, monotonicity, tag_conditions)

LEVELS = {"helpful": 3, "harmless": 2, "humor": 3}
OBJECTIVES = list(LEVELS)
PROMPT = "\n\nHuman: how do i fix my bike ?\n\nAssistant:"


@pytest.mark.parametrize("weights, expected", [
    ((1.0, 0.0, 0.0), {"helpful": 3}),                                     # one-hot: a single tag at the top class
    ((1 / 3, 1 / 3, 1 / 3), {"helpful": 3, "harmless": 2, "humor": 3}),    # equal: every objective at its top
    ((0.7, 0.15, 0.15), {"helpful": 3, "harmless": 1, "humor": 1}),       # 1 + round(2·0.214) = 1, 1 + round(0.214) = 1
    ((0.5, 0.25, 0.25), {"helpful": 3, "harmless": 2, "humor": 2}),       # ratio 0.5: 1 + round_half_up(0.5) = 2, 1 + 1
    ((0.0, 0.4, 0.6), {"harmless": 2, "humor": 3}),                       # 1 + round(1·0.667) = 2; helpful untagged
])
def test_weights_to_tags_rule_hand_computed(weights, expected):
    targets = moslim_targets_from_weights(weights, OBJECTIVES, LEVELS)
    assert targets == expected and list(targets) == [o for o in OBJECTIVES if o in expected]


def test_weights_to_tags_follows_the_heads_order_not_the_weights_order():
    targets = moslim_targets_from_weights([0.5, 0.5], ["humor", "helpful"], LEVELS)
    assert list(targets.items()) == [("helpful", 3), ("humor", 3)]
    with pytest.raises(ValueError, match="one weight per objective"):
        moslim_targets_from_weights([1.0], OBJECTIVES, LEVELS)


def _config(*overrides):
    return load_config("configs/tiny/moslim_controllability.yaml",
                       ["moslim.reward_model=''", "evaluate.policy=''", "policy.model=tiny:gpt2", *overrides])


def test_moslim_conditioner_writes_tags_and_leaves_the_untagged_point_alone():
    config = _config("evaluate.method=moslim", "reward_models=[{name: helpful, model: 'pro_rl.data.toy_world:helpful_reward'},"
                     "{name: humor, model: 'pro_rl.data.toy_world:humor_reward'}]")
    condition = prompt_conditioner(config)
    assert condition(PROMPT, [0.25, 0.75]) == "\n\nHuman: <helpful 2><humor 3> how do i fix my bike ?\n\nAssistant:"
    assert condition(PROMPT, None) == PROMPT


def test_objective_without_a_head_or_without_ground_truth_is_a_config_error():
    humor_only = "reward_models=[{name: humor, model: 'pro_rl.data.toy_world:humor_reward'}]"
    with pytest.raises(ConfigError, match="moslim.levels.*humor"):
        _config("moslim.levels={helpful: 3}", humor_only)
    with pytest.raises(ConfigError, match="reward_models.*kindness.*no toy-world ground truth"):
        _config("moslim.levels={helpful: 3, kindness: 2}", "reward_models=[{name: kindness, model: 'tiny:gpt2'}]")
    with pytest.raises(ConfigError, match="moslim.levels.*kindness.*no toy-world ground truth"):
        _config("moslim.levels={helpful: 3, kindness: 2}", "reward_models=[]")
    # the objectives measured are the reward_models names, in the heads' order
    config = _config("moslim.levels={humor: 3, kindness: 2, helpful: 3}", "reward_models=[{name: helpful, model: "
                     "'pro_rl.data.toy_world:helpful_reward'},{name: humor, model: 'pro_rl.data.toy_world:humor_reward'}]")
    assert list(moslim_controllability.check_controllability_config(config).items()) == [("humor", 3), ("helpful", 3)]


def test_tag_conditions_single_sweeps_pairs_at_top_then_untagged():
    conditions = tag_conditions(LEVELS)
    assert [targets for kind, targets in conditions if kind == "single"] == [
        {"helpful": 1}, {"helpful": 2}, {"helpful": 3}, {"harmless": 1}, {"harmless": 2},
        {"humor": 1}, {"humor": 2}, {"humor": 3}]
    assert [targets for kind, targets in conditions if kind == "pairs"] == [
        {"helpful": 3, "harmless": 2}, {"helpful": 3, "humor": 3}, {"harmless": 2, "humor": 3}]
    assert conditions[-1] == ("untagged", {})


def test_ground_truth_classes_and_rewards_of_hand_made_responses():
    helpful = "first check the bike , then follow each step in order ."
    joke = "why did the cat cross the road ? to get a laugh !"
    classes, rewards = ground_truth([f" {helpful} {helpful} {joke}", " ok ."], LEVELS)
    # 2 helpful segments -> class 3 (of 3), no harmless -> class 1, 1 joke -> class 2; rewards 1 - 0.3 per intruder
    assert classes.tolist() == [[3.0, 1.0, 2.0], [1.0, 1.0, 1.0]]
    assert torch.allclose(rewards, torch.tensor([[0.7, -0.6, 0.7], [0.0, 0.0, 0.0]], dtype=torch.float64))


def test_interval_table_averages_samples_per_prompt_first():
    # 2 prompts × 2 samples, one objective: prompt means 1.0 and 3.0 -> mean 2.0; interval inside [1, 3]
    table = interval_table(torch.tensor([[0.0], [2.0], [3.0], [3.0]]), 2, ["helpful"], 0.95, 500, 0)
    mean, low, high = table["helpful"]
    assert mean == 2.0 and 1.0 <= low <= 2.0 <= high <= 3.0 and low < high
    constant = interval_table(torch.full((6, 2), 2.0), 3, ["helpful", "humor"], 0.95, 100, 0)
    assert constant == {"helpful": [2.0, 2.0, 2.0], "humor": [2.0, 2.0, 2.0]}


def test_monotonicity_hand_made_sweeps():
    def classes(column):  # (2, 3) measured classes with the given helpful column
        return torch.tensor([[value, 1.0, 1.0] for value in column])

    sweeps = {"helpful": [(1, classes([1.0, 1.0])), (2, classes([2.0, 1.0])), (3, classes([3.0, 3.0]))],
              "harmless": [(1, classes([1.0, 1.0])), (2, classes([1.0, 1.0]))]}
    rho = monotonicity(sweeps, LEVELS)
    # helpful: requested [1,1,2,2,3,3] (ranks 1.5,1.5,3.5,3.5,5.5,5.5; deviations -2,-2,0,0,2,2), measured
    # [1,1,2,1,3,3] (ranks 2,2,4,2,5.5,5.5; deviations -1.5,-1.5,0.5,-1.5,2,2):
    # Σ dx·dy = 3+3+0+0+4+4 = 14, Σ dx² = 16, Σ dy² = 2.25·3+0.25+4+4 = 15 -> ρ = 14 / sqrt(240) ≈ 0.904
    assert rho["helpful"] == pytest.approx(14 / 240 ** 0.5)
    assert rho["harmless"] != rho["harmless"]  # constant measured harmless class: undefined (NaN)


class TagFollowingEngine:
    """A scripted policy: each response carries (requested class − 1) segments of every tagged objective."""

    def generate(self, prompts, num_samples, seed=None):
        rng = random.Random(seed)
        responses = [toy_world_intensities.moslim_response(rng, {o: n - 1 for o, n in parse_moslim_tags(prompt, LEVELS)[1].items()})
                     for prompt in prompts for _ in range(num_samples)]
        return Rollouts(prompts=[p for p in prompts for _ in range(num_samples)], responses=responses,
                        prompt_ids=[[0]] * len(responses), response_ids=[[0]] * len(responses), num_samples=num_samples)


def test_pipeline_with_a_tag_following_policy_is_perfectly_monotone(tmp_path, monkeypatch):
    from pipelines.moslim_controllability import run

    monkeypatch.setattr(moslim_controllability, "policy_engine", lambda config, source: TagFollowingEngine())
    config = _config(f"run.output_dir={tmp_path / 'run'}", "evaluate.num_prompts=4", "evaluate.samples_per_prompt=2",
                     "evaluate.bootstrap_resamples=50")
    result = run(config)
    summary = json.loads((result.output_dir / "controllability.json").read_text())
    assert summary["levels"] == LEVELS and summary["num_prompts"] == 4
    assert summary["spearman"] == {"helpful": 1.0, "harmless": 1.0, "humor": 1.0}
    by_label = {c["label"]: c for c in summary["conditions"]}
    assert by_label["<humor 3>"]["intensity"] == {"helpful": [1.0] * 3, "harmless": [1.0] * 3, "humor": [3.0] * 3}
    assert by_label["<helpful 3><harmless 2>"]["reward"]["helpful"] == pytest.approx([0.7] * 3)  # harmless intrudes
    assert by_label["untagged"]["intensity"]["helpful"] == [1.0] * 3
    assert result.metrics == {**{f"controllability/{o}/spearman": 1.0 for o in LEVELS},
                              "controllability/helpful/gain": 2.0, "controllability/harmless/gain": 1.0,
                              "controllability/humor/gain": 2.0}
    report = (result.output_dir / "report.md").read_text()
    assert "| helpful | 1.0000 | 2.0000 |" in report
    assert "| `<harmless 2>` | 1.00 [1.00, 1.00] | 2.00 [2.00, 2.00] | 1.00 [1.00, 1.00] | -0.30 [-0.30, -0.30] |" in report
    for name in ("controllability_single", "controllability_pairs", "monotonicity"):
        assert (result.output_dir / "plots" / f"{name}.png").stat().st_size > 5000


def test_pipeline_on_an_untrained_tiny_policy(tmp_path):
    """The plumbing with a real policy: an untrained tiny policy emits byte noise, which carries no segment."""
    from pipelines.moslim_controllability import run
    from pro_rl.models.builders import build_policy

    model, tokenizer = build_policy(ModelConfig(model="tiny:gpt2"))
    model.save_pretrained(tmp_path / "policy")
    tokenizer.save_pretrained(tmp_path / "policy")
    config = _config(f"run.output_dir={tmp_path / 'run'}", f"evaluate.policy={tmp_path / 'policy'}",
                     "evaluate.num_prompts=3", "evaluate.samples_per_prompt=1", "rollout.max_new_tokens=6",
                     "evaluate.bootstrap_resamples=50")
    result = run(config)
    summary = json.loads((result.output_dir / "controllability.json").read_text())
    assert len(summary["conditions"]) == 8 + 3 + 1
    assert all(c["intensity"][o] == [1.0, 1.0, 1.0] for c in summary["conditions"] for o in LEVELS)
    assert summary["spearman"] == {"helpful": None, "harmless": None, "humor": None}
    assert "| humor | undefined | 0.0000 |" in (result.output_dir / "report.md").read_text()
    assert result.metrics == {f"controllability/{o}/gain": 0.0 for o in LEVELS}


TRUTH_REWARDS = "reward_models=[" + ",".join(f"{{name: {o}, model: 'pro_rl.data.toy_world:{o}_reward'}}" for o in LEVELS) + "]"


def test_evaluate_moslim_grid_and_untagged_point_hand_computed(tmp_path, monkeypatch):
    """``evaluate.method: moslim`` end to end with the scripted policy and the toy world's true rewards."""
    from pipelines.evaluate import run
    from pro_rl.rollout import generator

    monkeypatch.setattr(generator, "policy_engine", lambda config, source: TagFollowingEngine())
    config = _config("pipeline=evaluate", "evaluate.method=moslim", TRUTH_REWARDS, f"run.output_dir={tmp_path / 'run'}",
                     "rollout.in_driver=true",
                     "evaluate.num_prompts=3", "evaluate.grid=[[1.0,0.0,0.0],[0.5,0.25,0.25]]",
                     "evaluate.reference_point=[-1.0,-1.0,-1.0]")
    result = run(config)
    summary = json.loads((result.output_dir / "evaluation.json").read_text())
    assert summary["world"] == "toy_world v1"  # the toy world's own reward functions
    assert "Rewards: toy_world v1." in (result.output_dir / "report.md").read_text()
    # <helpful 3>: 2 helpful segments -> (1, -0.3, -0.3); <helpful 3><harmless 2><humor 2>: every kind -> 1 - 0.6 each;
    # untagged: the scripted policy answers with filler only -> (0, 0, 0)
    assert [p["rewards"] for p in summary["points"]] == [pytest.approx([1.0, -0.3, -0.3]), pytest.approx([0.4] * 3)]
    assert summary["untagged"]["label"] == "untagged" and summary["untagged"]["weights"] is None
    assert summary["untagged"]["rewards"] == [0.0, 0.0, 0.0]
    assert result.metrics["eval/untagged/humor"] == 0.0
    # each mean with its interval over prompts, then the mean over objectives
    assert "| untagged | — | 0.000 [0.000, 0.000] | 0.000 [0.000, 0.000] | 0.000 [0.000, 0.000] | 0.0000 |" \
        in (result.output_dir / "report.md").read_text()
    # the rewards are the toy world's own functions: the ground truth beside them is the same
    assert summary["points"][0]["ground_truth_rewards"] == pytest.approx([1.0, -0.3, -0.3])
