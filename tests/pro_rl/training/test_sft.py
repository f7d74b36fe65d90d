"""Supervised fine-tuning with LoRA adapters (peft): only the adapted weights move, and the saved policy is a plain
transformers checkpoint with the adapters merged in."""

import logging

import pytest
import torch
from transformers import AutoModelForCausalLM

from pro_rl.config import ConfigError, load_config
from pro_rl.data.formats import render_prompt
from pro_rl.models.builders import load_policy
from pro_rl.training.metrics import MetricsLogger
from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.training.sft import sft_examples, train_sft


def test_lora_sft_merges_adapters_into_a_plain_checkpoint(tmp_path):
    config = load_config("configs/tiny/sft.yaml", [
        f"run.output_dir={tmp_path}", "policy.sft_steps=3", "policy.lora_rank=4", "policy.lora_alpha=8",
        "policy.sft_learning_rate=5e-2", "algorithm.prompt_batch_size=4", "run.progress=false"])
    metrics = MetricsLogger(tmp_path, tensorboard=False)
    train_sft(config, tmp_path, metrics)
    metrics.close()

    saved_dir = tmp_path / "final" / "policy"
    assert not (saved_dir / "adapter_config.json").exists()
    saved = AutoModelForCausalLM.from_pretrained(saved_dir).state_dict()
    initial = load_policy("tiny:gpt2", config.policy)[0].state_dict()
    assert set(saved) == set(initial)  # no lora_A / lora_B / base_layer names left
    changed = {name for name in initial if not torch.equal(initial[name], saved[name])}
    # peft's default for GPT-2 adapts the fused attention projection c_attn; nothing else may move
    assert changed and all(name.endswith("attn.c_attn.weight") for name in changed)


def test_lora_rank_is_validated():
    with pytest.raises(ConfigError, match="policy.lora_rank"):
        load_config("configs/tiny/sft.yaml", ["policy.lora_rank=-1"])
    with pytest.raises(ConfigError, match="ZeRO-2"):
        load_config("configs/tiny/sft.yaml", ["policy.lora_rank=8", "trainer.zero_stage=3"])


def test_sft_examples_warn_once_per_side_with_counts(caplog):
    tokenizer = train_tiny_tokenizer()
    rows = [("how do i fix my bike ?", " check the chain , then the brakes , then the tyres ."), ("hi", " ok")]
    with caplog.at_level(logging.WARNING, logger="pro_rl.data"):
        prompts, responses = sft_examples(rows, tokenizer, max_prompt_tokens=4, max_response_tokens=5)
    full = [tokenizer(render_prompt(prompt, tokenizer), add_special_tokens=False)["input_ids"] for prompt, _ in rows]
    assert prompts == [ids[-4:] for ids in full] and len(full[0]) > 4 >= len(full[1])
    assert [len(ids) for ids in responses] == [5, 2] and responses[0][-1] == tokenizer.eos_token_id
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("sft prompts: 1 of 2 texts (50.0 %) longer than max_length 4")
    assert messages[0].endswith("truncated on the left; raise policy.max_prompt_length to keep them whole")
    assert messages[1].startswith("sft responses (with eos): 1 of 2 texts (50.0 %) longer than max_length 5")
    assert messages[1].endswith("truncated on the right; raise rollout.max_new_tokens to keep them whole")
