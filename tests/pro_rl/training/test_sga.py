"""SGA inputs from reward models (the sigmoid of each objective's z-scored scores of the chosen responses), and the
truncation warning and identical-pair check of its tokenised pairs."""

import logging
from pathlib import Path

import pytest
import torch

from pro_rl.config import ConfigError, load_config
from pro_rl.data.toy_world import objective_rewards
from pro_rl.models.sga import sga_prompt_ids
from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.training.sga import SGAInputs, load_sga_inputs, sga_examples

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


def sga_pair_inputs():
    """Two pairs; the first differs only at the end of a long shared response, the second at its first word."""
    shared = " the answer goes on about the weather, the sea and the mountains for a long while"
    return SGAInputs(prompts=["Human: weather?\n\nAssistant:"] * 2, chosen=[shared + " yes", "Sure," + shared],
                     rejected=[shared + " no", "No," + shared], targets=torch.tensor([[0.5, 0.5], [0.2, 0.8]]),
                     score_source="test", eval_prompts=[], true_weights=None)


def test_sga_pairs_made_identical_by_the_cut_stop_dpo_above_the_share(caplog):
    tokenizer, inputs = train_tiny_tokenizer(), sga_pair_inputs()
    objectives = ["helpful", "harmless"]
    prompt_length = len(sga_prompt_ids(tokenizer, inputs.prompts[0], objectives, [0.5, 0.5], 256)[0])
    max_length = prompt_length + 8  # room for 7 response tokens + eos: the shared start only
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        examples = sga_examples(inputs, tokenizer, objectives, 256, max_length, max_identical_share=0.5)
    assert examples.chosen_ids[0] == examples.rejected_ids[0] and examples.chosen_ids[1] != examples.rejected_ids[1]
    assert "sga pairs (conditioned prompt + response + eos): 4 of 4 texts (100.0 %)" in caplog.text
    with pytest.raises(ConfigError, match=r"sga pairs: 1 of 2 pairs \(50.0 %\).*raise sga.training.max_length"):
        sga_examples(inputs, tokenizer, objectives, 256, max_length, max_identical_share=0.4)
