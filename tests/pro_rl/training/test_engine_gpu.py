"""DeepSpeed on CUDA through ``TrainEngine``: ZeRO-2 and ZeRO-3, bf16, gradient checkpointing, CPU offload.

Skipped without a CUDA device. Each case trains a small Qwen2-shaped causal LM on one fixed batch and checks that
the loss falls, then that ``save_pretrained`` writes a checkpoint transformers loads with the trained weights
(ZeRO-3 gathers the partitioned parameters for it).
"""

import pytest
import torch
from transformers import AutoConfig, AutoModelForCausalLM

from pro_rl.training.engine import EngineSettings, TrainEngine

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

CASES = {
    "zero2-bf16": dict(zero_stage=2, bf16=True),
    "zero2-bf16-checkpointing": dict(zero_stage=2, bf16=True, gradient_checkpointing=True),
    "zero3-bf16": dict(zero_stage=3, bf16=True),
    "zero2-offload": dict(zero_stage=2, bf16=True, offload_optimizer=True),
}


def small_model():
    torch.manual_seed(0)
    config = AutoConfig.for_model("qwen2", hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                                  num_key_value_heads=2, intermediate_size=256, vocab_size=512,
                                  max_position_embeddings=128)
    return AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("case", list(CASES))
def test_engine_trains_and_saves_on_cuda(case, tmp_path):
    device = torch.device("cuda")
    engine = TrainEngine(small_model(), EngineSettings(learning_rate=1e-3, batch_size=8, micro_batch_size=4,
                                                       **CASES[case]), device)
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(0, 512, (8, 32), generator=generator).to(device)
    losses = []
    for _ in range(12):
        step_loss = 0.0
        for half in input_ids.split(4):
            loss = engine(input_ids=half, labels=half).loss
            engine.backward(loss)
            engine.step()
            step_loss += loss.item() / 2
        losses.append(step_loss)
    assert engine.global_steps == 12
    assert losses[-1] < losses[0] - 0.5, losses
    engine.save_pretrained(tmp_path / "model")
    reloaded = AutoModelForCausalLM.from_pretrained(tmp_path / "model").to(device).eval()
    with torch.no_grad():
        reloaded_loss = reloaded(input_ids=input_ids[:4], labels=input_ids[:4]).loss.item()
    assert reloaded_loss < losses[0] - 0.5
