"""Supervised fine-tuning with LoRA adapters (peft): only the adapted weights move, and the saved policy is a plain
transformers checkpoint with the adapters merged in."""

import pytest
import torch
from transformers import AutoModelForCausalLM

from pro_rl.config import ConfigError, load_config
from pro_rl.models.builders import load_policy
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.sft import train_sft


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
