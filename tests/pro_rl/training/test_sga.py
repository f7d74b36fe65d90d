"""SGA inputs from reward models: the sigmoid of each objective's z-scored scores of the chosen responses."""

from pathlib import Path

import torch

from pro_rl.config import load_config
from pro_rl.data.toy_world import objective_rewards
from pro_rl.training.sga import load_sga_inputs

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_reward_model_targets_through_the_configured_reward_functions(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    names = ["helpful", "harmless", "humor"]
    config = load_config("configs/tiny/sga_sft.yaml", [
        "sga.score_source=reward_models", "data.max_rows=60",
        *[f"reward_models.{i}.model=pro_rl.data.toy_world:{name}_reward" for i, name in enumerate(names)]])
    inputs = load_sga_inputs(config)
    rewards = torch.tensor([[objective_rewards(c)[name] for name in names] for c in inputs.chosen], dtype=torch.float64)
    mean, std = rewards.mean(dim=0), rewards.std(dim=0, unbiased=False)
    torch.testing.assert_close(inputs.targets, torch.sigmoid((rewards - mean) / std).float())
    assert inputs.score_source == "reward_models" and len(inputs.prompts) == 60
    torch.testing.assert_close(torch.tensor(inputs.score_stats["mean"], dtype=torch.float64), mean)
    assert inputs.true_weights is not None and inputs.true_weights.shape == (60, 3)  # data.max_rows limits every source
