"""vLLM itself, on a GPU: synced trainer weights give vLLM the trainer's log-probs and change what it generates.

Skipped unless CUDA and vLLM are both present (``pip install 'pro-rl[vllm]'``). A tiny Qwen2 policy (hidden 256,
2 layers, 4 heads of 64) is built from config and saved like the rollout actor does for ``tiny:`` policies; vLLM
loads it in bf16 with sleep mode on, in this process (``tensor_parallel_size`` 1). The "trainer" is the same model
in transformers on the GPU, in bf16 as with ``trainer.bf16``, perturbed as an update would. Its weights go into
vLLM after a sleep (level 2) in the two ways a colocated engine gets them:

- in process: the trainer's GPU tensors handed to ``load_weights`` directly;
- CUDA IPC: the trainer runs in a child process (as the policy actor does) and sends IPC handles of its parameters.
  CUDA cannot open a handle in the process that made it, so this path needs the second process.

Then vLLM's log-probs of fixed responses agree with the trainer's forward pass within ``TOLERANCE`` (max absolute
difference per token, in nats; both sides bf16, so the kernels' rounding differs, not the weights), greedy
responses differ from those before the sync, and loading the initial weights back restores them exactly (every
weight, none left over from before the sleep).
"""

import importlib.util
from typing import Optional

import pytest
import torch
import torch.multiprocessing as mp

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
CHILD_TIMEOUT_S = 300


def trainer_model(perturbation_seed: Optional[int] = None) -> torch.nn.Module:
    """The seeded build (the weights vLLM loaded from disk), perturbed on the CPU by ``perturbation_seed``'s noise
    (the same in every process), in bf16 on the GPU."""
    trainer, _ = build_policy(SPEC)
    if perturbation_seed is not None:
        generator = torch.Generator().manual_seed(perturbation_seed)
        with torch.no_grad():
            for parameter in trainer.parameters():
                parameter.add_(0.02 * torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype))
    return trainer.to("cuda", torch.bfloat16).eval()


def trainer_process(perturbation_seed: int, handles, copied) -> None:
    """The child: sends IPC handles of a perturbed trainer's weights, keeps them alive until the engine copied."""
    trainer = trainer_model(perturbation_seed)
    handles.put(cuda_ipc_handles(trainer.state_dict()))
    copied.wait(timeout=CHILD_TIMEOUT_S)


@pytest.fixture(scope="module")
def engine_and_tokenizer(tmp_path_factory):
    source, tokenizer = policy_for_vllm(SPEC.model, SPEC, tmp_path_factory.mktemp("tiny_qwen2"))
    engine = VLLMRolloutEngine(source, tokenizer, SamplingSettings(temperature=0.0, max_new_tokens=12),
                               max_prompt_length=64, gpu_memory_utilization=0.3, enable_sleep_mode=True,
                               dtype="bfloat16", seed=0)
    return engine, tokenizer


def load_from_another_process(engine: VLLMRolloutEngine, perturbation_seed: int) -> None:
    context = mp.get_context("spawn")
    handles, copied = context.Queue(), context.Event()
    child = context.Process(target=trainer_process, args=(perturbation_seed, handles, copied))
    child.start()
    try:
        received = handles.get(timeout=CHILD_TIMEOUT_S)
        engine.sleep()
        engine.load_weights_from_ipc(received)
    finally:
        copied.set()
        child.join(timeout=60)
    assert child.exitcode == 0


def assert_trainer_logprobs(engine, trainer, tokenizer, rollouts) -> None:
    engine_logprobs = engine.response_logprobs(rollouts.prompt_ids, rollouts.response_ids)
    batch = make_sequence_batch(rollouts.prompt_ids, rollouts.response_ids, tokenizer.pad_token_id).to("cuda")
    with torch.no_grad():
        trainer_logprobs = response_logprobs(trainer, batch).float().cpu()
    for row, (logprobs, response) in enumerate(zip(engine_logprobs, rollouts.response_ids)):
        difference = (torch.tensor(logprobs) - trainer_logprobs[row, :len(response)]).abs().max().item()
        assert difference <= TOLERANCE, f"row {row}: vLLM and trainer log-probs differ by {difference:.4f} nats"


def restore_initial_weights(engine: VLLMRolloutEngine, before) -> None:
    engine.sleep()
    engine.load_weights(trainer_model().state_dict())
    assert engine.generate(PROMPTS, num_samples=1).response_ids == before.response_ids


def test_in_process_weights_give_the_trainers_logprobs_and_change_generation(engine_and_tokenizer):
    engine, tokenizer = engine_and_tokenizer
    before = engine.generate(PROMPTS, num_samples=1)
    trainer = trainer_model(perturbation_seed=1)

    engine.sleep()
    engine.load_weights(trainer.state_dict())
    after = engine.generate(PROMPTS, num_samples=1)

    assert after.prompt_ids == before.prompt_ids and after.response_ids != before.response_ids
    assert_trainer_logprobs(engine, trainer, tokenizer, after)
    restore_initial_weights(engine, before)


def test_cuda_ipc_weights_from_another_process_give_the_trainers_logprobs(engine_and_tokenizer):
    engine, tokenizer = engine_and_tokenizer
    before = engine.generate(PROMPTS, num_samples=1)

    load_from_another_process(engine, perturbation_seed=2)
    after = engine.generate(PROMPTS, num_samples=1)

    assert after.response_ids != before.response_ids
    assert_trainer_logprobs(engine, trainer_model(perturbation_seed=2), tokenizer, after)
    restore_initial_weights(engine, before)
