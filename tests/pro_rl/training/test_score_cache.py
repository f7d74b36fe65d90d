"""Reward-model scores of the orchestrator's pairs are cached by (model, data, length) and reused."""

import logging

import pytest

from pro_rl.config.schema import ProRLConfig, RewardModelConfig, TrainingConfig
from pro_rl.models.builders import build_reward_model
from pro_rl.models.reward_model_record import write_record
from pro_rl.training import score_cache
from pro_rl.training.orchestrator import score_preferred

TINY = dict(tiny_hidden_size=32, tiny_layers=1, tiny_heads=2)
PROMPTS = ["how do i fix my bike ?", "tell me a joke ."]
RESPONSES = [" check the chain first .", " why did the cat cross the road ?"]


@pytest.fixture
def config(tmp_path):
    directories = []
    for seed, name in enumerate(["helpful", "humor"]):
        spec = RewardModelConfig(name=name, model="tiny:gpt2", **TINY)
        model, tokenizer = build_reward_model(spec)
        model.score.weight.data.fill_(0.01 * (seed + 1))  # two different models
        directory = tmp_path / name
        model.save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        write_record(directory, RewardModelConfig(name=name, training=TrainingConfig(max_length=64)))
        directories.append(RewardModelConfig(name=name, model=str(directory)))
    config = ProRLConfig(reward_models=directories)
    config.run.device, config.run.score_cache_dir = "cpu", str(tmp_path / "cache")
    return config


@pytest.fixture
def scorer_loads(monkeypatch):
    loads = []
    real = score_cache.RewardScorer

    def counting(spec, device="auto"):
        loads.append(spec.name)
        return real(spec, device=device)

    monkeypatch.setattr(score_cache, "RewardScorer", counting)
    return loads


def test_second_scoring_hits_the_cache(config, scorer_loads, caplog):
    caplog.set_level(logging.INFO, logger="pro_rl.training")
    first = score_preferred(config, PROMPTS, RESPONSES)
    assert scorer_loads == ["helpful", "humor"]
    second = score_preferred(config, PROMPTS, RESPONSES)
    assert scorer_loads == ["helpful", "humor"]  # no model loaded the second time
    assert second.tolist() == first.tolist()
    assert sum("score cache hit" in record.message for record in caplog.records) == 2
    assert sum("score cache miss" in record.message for record in caplog.records) == 2


def test_a_changed_length_or_text_misses(config, scorer_loads):
    score_preferred(config, PROMPTS, RESPONSES)
    config.reward_models[0].score_max_length = 16
    score_preferred(config, PROMPTS, RESPONSES)
    assert scorer_loads == ["helpful", "humor", "helpful"]
    score_preferred(config, PROMPTS, [RESPONSES[0], " a different response ."])
    assert scorer_loads == ["helpful", "humor", "helpful", "helpful", "humor"]


def test_changed_weights_miss_and_an_empty_cache_dir_turns_caching_off(config, scorer_loads):
    score_preferred(config, PROMPTS, RESPONSES)
    directory = config.reward_models[1].model
    model, tokenizer = build_reward_model(RewardModelConfig(name="humor", model=directory))
    model.score.weight.data.fill_(0.5)
    model.save_pretrained(directory)
    score_preferred(config, PROMPTS, RESPONSES)
    assert scorer_loads == ["helpful", "humor", "humor"]
    config.run.score_cache_dir = ""
    score_preferred(config, PROMPTS, RESPONSES)
    assert scorer_loads == ["helpful", "humor", "humor", "helpful", "humor"]


def test_function_rewards_are_not_cached(tmp_path):
    spec = RewardModelConfig(name="humor", model="pro_rl.data.toy_world:humor_reward")
    assert score_cache.cache_key(spec, spec.model, PROMPTS, RESPONSES, "auto") is None
    assert score_cache.texts_digest(["ab"], ["c"]) != score_cache.texts_digest(["a"], ["bc"])
