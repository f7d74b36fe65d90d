"""vLLM itself, on a GPU: synced trainer weights give vLLM the trainer's log-probs and change what it generates.

Skipped unless CUDA and vLLM are both present (``pip install 'pro-rl[vllm]'``). A tiny Qwen2 policy (hidden 256,
2 layers, 4 heads of 64) is built from config and saved like the rollout actor does for ``tiny:`` policies; vLLM
loads it in bf16 with sleep mode on. The "trainer" is the same model in transformers on the GPU, in bf16 as with
``trainer.bf16``, perturbed as an update would. Its weights go into vLLM the colocated way — sleep (level 2), then
CUDA IPC handles, which wake the engine — and then:

- vLLM's log-probs of fixed responses agree with the trainer's forward pass within ``TOLERANCE`` (max absolute
  difference per token, in nats; both sides bf16, so the kernels' rounding differs, not the weights);
- greedy responses differ from those before the sync, and loading the initial weights back restores them exactly
  (every weight, none left over from before the sleep).
"""

import importlib.util

import pytest
import torch

from pro_rl.config.schema import ModelConfig
from pro_rl.models.builders import build_policy
from pro_rl.rollout import SamplingSettings, VLLMRolloutEngine
from pro_rl.rollout.vllm_engine import policy_for_vllm
from pro_rl.rollout.weight_sync import cuda_ipc_handles
from pro_rl.training.sequences import make_sequence_batch, response_logprobs

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available() or importlib.util.find_spec("vllm") is None,
                       reason="needs a CUDA device and vLLM (pip install 'pro-rl[vllm]')"),
]

TOLERANCE = 0.02  # nats per token, bf16 on both sides
SPEC = ModelConfig(model="tiny:qwen2", tiny_hidden_size=256, tiny_layers=2, tiny_heads=4)
PROMPTS = ["Human: tell me a joke\n\nAssistant:", "Human: how do I bake bread?\n\nAssistant:",
           "Human: is it safe to swim after eating?\n\nAssistant:"]


@pytest.fixture(scope="module")
def engine_and_trainer(tmp_path_factory):
    source, tokenizer = policy_for_vllm(SPEC.model, SPEC, tmp_path_factory.mktemp("tiny_qwen2"))
    engine = VLLMRolloutEngine(source, tokenizer, SamplingSettings(temperature=0.0, max_new_tokens=12),
                               max_prompt_length=64, gpu_memory_utilization=0.3, enable_sleep_mode=True,
                               dtype="bfloat16", seed=0)
    trainer, _ = build_policy(SPEC)  # the seeded build: the weights vLLM loaded from disk
    return engine, trainer.to("cuda", torch.bfloat16).eval(), tokenizer


def sync_colocated(engine: VLLMRolloutEngine, state_dict) -> None:
    engine.sleep()
    engine.load_weights_from_ipc(cuda_ipc_handles(state_dict))


def test_synced_weights_give_the_trainers_logprobs_and_change_generation(engine_and_trainer):
    engine, trainer, tokenizer = engine_and_trainer
    initial = {name: tensor.clone() for name, tensor in trainer.state_dict().items()}
    before = engine.generate(PROMPTS, num_samples=1)

    torch.manual_seed(1)
    with torch.no_grad():
        for parameter in trainer.parameters():
            parameter.add_(0.02 * torch.randn_like(parameter))
    sync_colocated(engine, trainer.state_dict())
    after = engine.generate(PROMPTS, num_samples=1)

    assert after.prompt_ids == before.prompt_ids
    assert after.response_ids != before.response_ids
    engine_logprobs = engine.response_logprobs(after.prompt_ids, after.response_ids)
    batch = make_sequence_batch(after.prompt_ids, after.response_ids, tokenizer.pad_token_id).to("cuda")
    with torch.no_grad():
        trainer_logprobs = response_logprobs(trainer, batch).float().cpu()
    for row, (logprobs, response) in enumerate(zip(engine_logprobs, after.response_ids)):
        difference = (torch.tensor(logprobs) - trainer_logprobs[row, :len(response)]).abs().max().item()
        assert difference <= TOLERANCE, f"row {row}: vLLM and trainer log-probs differ by {difference:.4f} nats"

    sync_colocated(engine, initial)
    assert engine.generate(PROMPTS, num_samples=1).response_ids == before.response_ids
