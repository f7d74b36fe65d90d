"""A reward model remembers the length it was trained at, and RewardScorer scores with it unless told otherwise."""

import json

from pro_rl.config.schema import RewardModelConfig, TrainingConfig
from pro_rl.models.builders import build_reward_model
from pro_rl.models.reward_model_record import RECORD_FILE, read_record, scoring_length, write_record
from pro_rl.models.scoring import RewardScorer

TINY = dict(tiny_hidden_size=32, tiny_layers=1, tiny_heads=2)


def spec(**values) -> RewardModelConfig:
    return RewardModelConfig(**{"name": "helpful", "model": "tiny:gpt2", **TINY, **values})


def test_record_holds_how_the_model_reads_its_inputs(tmp_path):
    write_record(tmp_path, spec(training=TrainingConfig(max_length=96), label_index=1, response_only=True), "hh")
    assert json.loads((tmp_path / RECORD_FILE).read_text()) == {
        "objective": "helpful", "max_length": 96, "response_only": True, "label_index": 1, "prompt_format": "hh"}
    assert read_record(str(tmp_path))["max_length"] == 96
    assert read_record("tiny:gpt2") is None


def test_scoring_length_explicit_then_recorded_then_training(tmp_path):
    write_record(tmp_path, spec(training=TrainingConfig(max_length=96)))
    assert scoring_length(spec(), str(tmp_path)) == 96                   # recorded, over the default 512
    assert scoring_length(spec(score_max_length=40), str(tmp_path)) == 40  # explicit wins
    assert scoring_length(spec(training=TrainingConfig(max_length=70)), "tiny:gpt2") == 70  # no record


def test_scorer_of_a_saved_model_uses_the_recorded_length(tmp_path):
    model, tokenizer = build_reward_model(spec())
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    write_record(tmp_path, spec(training=TrainingConfig(max_length=8)))
    scorer = RewardScorer(spec(model=str(tmp_path)), device="cpu")
    assert scorer.max_length == 8
    long_prompt = "how do i fix my bike ? " * 10
    # left truncation at 8 tokens: the scores only see the end, so two prompts with the same end score the same
    first, second = scorer.score([long_prompt, "x " + long_prompt], [" ok", " ok"])
    assert abs(first - second) < 1e-6
    assert RewardScorer(spec(model=str(tmp_path), score_max_length=64), device="cpu").max_length == 64
