"""GPU benchmark: one RL step's stage breakdown and hf rollout throughput, in one process (no Ray).

The models are built from configs (no hub access on a GPU machine): a Qwen2-architecture policy of the 0.5B class
(hidden 896, 24 layers, 14 heads, 2 KV heads, MLP 4864, vocab 151 936 — Qwen2.5-0.5B's shapes), reward models of
the same shape (the PRO paper's UltraFeedback reward models are Qwen2.5-0.5B), and an xlm-roberta-base-shaped
orchestrator. Weights are random, so responses run to ``max_new_tokens``: the worst case for generation.

The stages are the RL pipeline's: weights, generate, score, reference (reference and old log-probs), scalarise,
advantages (RLOO), update (DeepSpeed ZeRO-2, bf16), sync (the policy's weights copied into the rollout model on
the same GPU, as the colocated hf backend does). Run: ``python -m bench.gpu_step --objectives 1 2 4``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

from bench.gpu_shapes import QWEN_05B, SMALL_QWEN, SMALL_XLMR, XLMR_BASE
from bench.measure import synchronize, synchronized_stage
from pro_rl.algorithms import scalarise
from pro_rl.data.toy_world import shipped_dir
from pro_rl.models.scoring import predict_weights, reward_model_scores
from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.rollout import HFRolloutEngine, SamplingSettings
from pro_rl.training.engine import EngineSettings, TrainEngine
from pro_rl.training.metrics import StageTimer
from pro_rl.training.rl_advantages import rloo_sequence_advantages
from pro_rl.training.rl_update import rloo_update
from pro_rl.training.sequences import make_sequence_batch, response_logprobs


def model_shapes(small: bool) -> tuple[dict, dict]:
    """(policy and reward model shapes, orchestrator shapes): Qwen2.5-0.5B's and xlm-roberta-base's, or with
    ``--small`` the tiny stand-ins (over the full shapes, so position and embedding settings stay)."""
    if small:
        return {**QWEN_05B, **SMALL_QWEN}, {**XLMR_BASE, **SMALL_XLMR}
    return QWEN_05B, XLMR_BASE


def build(device, tokenizer, num_objectives: int, shapes: dict, encoder_shapes: dict, dtype=torch.bfloat16):
    """Policy (fp32 master weights for DeepSpeed), reference and rollout copies, K reward models (all of ``shapes``,
    a Qwen2 architecture), orchestrator (``encoder_shapes``, xlm-roberta); initialised directly on ``device``."""
    ids = dict(pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
               eos_token_id=tokenizer.eos_token_id)
    torch.manual_seed(0)
    policy_config = AutoConfig.for_model("qwen2", **shapes, **ids)
    reward_config = AutoConfig.for_model("qwen2", **shapes, **ids, num_labels=1)
    orchestrator_config = AutoConfig.for_model("xlm-roberta", **encoder_shapes, **ids, num_labels=num_objectives)
    with device:
        policy = AutoModelForCausalLM.from_config(policy_config, dtype=torch.float32)
        reference = AutoModelForCausalLM.from_config(policy_config, dtype=dtype).eval()
        reference.load_state_dict(policy.state_dict())
        rollout_model = AutoModelForCausalLM.from_config(policy_config, dtype=dtype)
        rollout_model.load_state_dict(policy.state_dict())
        reward_models = [AutoModelForSequenceClassification.from_config(reward_config, dtype=dtype).eval()
                         for _ in range(num_objectives)]
        orchestrator = AutoModelForSequenceClassification.from_config(orchestrator_config, dtype=dtype).eval()
    return policy, reference, rollout_model, reward_models, orchestrator


def run(num_objectives: int, args, tokenizer, encoder_tokenizer, prompts) -> dict:
    """``args.warmup + args.steps`` RL steps with K = ``num_objectives`` reward models, every stage timed (device
    synchronised); the means over the steps after the warm-up, with throughput, shares and peak memory."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    policy, reference, rollout_model, reward_models, orchestrator = build(device, tokenizer, num_objectives,
                                                                          *model_shapes(args.small))
    rows = args.prompts * args.samples
    engine = TrainEngine(policy, EngineSettings(learning_rate=1e-6, batch_size=rows, micro_batch_size=args.micro_batch,
                                                zero_stage=2, bf16=True, gradient_checkpointing=True), device)
    rollout = HFRolloutEngine(rollout_model, tokenizer, SamplingSettings(temperature=0.8, top_p=0.95,
                                                                         max_new_tokens=args.max_new_tokens),
                              max_prompt_length=128, device=device, batch_size=rows)
    steps = []
    for step in range(args.warmup + args.steps):
        batch = prompts[step * args.prompts:(step + 1) * args.prompts]
        timer = StageTimer()
        timer.start_step()
        with synchronized_stage(timer, "weights"):
            weights = predict_weights(orchestrator, encoder_tokenizer, batch).float()
        with synchronized_stage(timer, "generate"):
            rollouts = rollout.generate(batch, args.samples, seed=step)
        with synchronized_stage(timer, "score"):
            texts = [p + r for p, r in zip(rollouts.prompts, rollouts.responses)]
            columns = [reward_model_scores(model, tokenizer, texts, rows, 512) for model in reward_models]
            reward_matrix = torch.tensor(columns).T
        with synchronized_stage(timer, "reference"):
            sequences = make_sequence_batch(rollouts.prompt_ids, rollouts.response_ids, tokenizer.pad_token_id).to(device)
            with torch.no_grad():
                ref_logprobs = response_logprobs(reference, sequences, args.micro_batch, 0.8).float()
                engine.eval()
                old_logprobs = response_logprobs(engine.module, sequences, args.micro_batch, 0.8).float()
        with synchronized_stage(timer, "scalarise"):
            scalarised = scalarise(reward_matrix.float(), weights.cpu().repeat_interleave(args.samples, 0)).to(device)
        with synchronized_stage(timer, "advantages"):
            advantages, _ = rloo_sequence_advantages(scalarised, old_logprobs, ref_logprobs, sequences.response_mask,
                                                     args.samples, 0.05)
        with synchronized_stage(timer, "update"):
            rloo_update(engine, sequences, old_logprobs, advantages, micro_batch_size=args.micro_batch,
                        temperature=0.8, seed=step)
        with synchronized_stage(timer, "sync"):
            with torch.no_grad():
                rollout_model.load_state_dict(engine.module.state_dict())
        seconds = {**timer.seconds, "step": timer.metrics()["time/step_s"]}
        seconds["generated_tokens"] = float(sum(len(ids) for ids in rollouts.response_ids))
        if step >= args.warmup:
            steps.append(seconds)
    mean = {key: statistics.mean(step[key] for step in steps) for key in steps[0]}
    mean["generate_tokens_per_s"] = mean["generated_tokens"] / mean["generate"]
    mean["orchestrator_share"] = mean["weights"] / mean["step"]
    mean["sync_share"] = mean["sync"] / mean["step"]
    mean["peak_memory_gib"] = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else 0.0
    mean["policy_parameters"] = float(sum(p.numel() for p in engine.module.parameters()))
    del engine, rollout, reward_models, orchestrator, reference
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return mean


def rollout_throughput(tokenizer, prompts, batch_sizes, max_new_tokens, shapes: dict) -> dict:
    """hf ``generate`` tokens/s of the 0.5B-class policy (``shapes``) in bf16 at several batch sizes."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(AutoConfig.for_model(
        "qwen2", **shapes, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id),
        dtype=torch.bfloat16)
    engine = HFRolloutEngine(model, tokenizer, SamplingSettings(max_new_tokens=max_new_tokens), device=device,
                             batch_size=max(batch_sizes))
    results = {}
    engine.generate(prompts[:8], 1, seed=0)
    for batch in batch_sizes:
        synchronize()
        began = time.perf_counter()
        rollouts = engine.generate(prompts[:batch], 1, seed=1)
        synchronize()
        seconds = time.perf_counter() - began
        results[batch] = sum(len(ids) for ids in rollouts.response_ids) / seconds
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.gpu_step", description=__doc__.split("\n")[0])
    parser.add_argument("--objectives", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--prompts", type=int, default=16)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--micro-batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--throughput-batches", type=int, nargs="*", default=[64, 128])
    parser.add_argument("--output", default="")
    parser.add_argument("--small", action="store_true", help="tiny shapes, to check the script on a CPU")
    args = parser.parse_args()
    tokenizer = train_tiny_tokenizer()
    encoder_tokenizer = train_tiny_tokenizer(kind="encoder")
    prompts = [json.loads(line)["prompt"] for line in (shipped_dir() / "prompts.jsonl").read_text().splitlines()]
    report = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
              "torch": torch.__version__, "args": vars(args), "steps": {}}
    for k in args.objectives:
        report["steps"][k] = run(k, args, tokenizer, encoder_tokenizer, prompts)
        print(json.dumps({f"K={k}": report["steps"][k]}, indent=1), flush=True)
    if args.throughput_batches:
        report["hf_tokens_per_s"] = rollout_throughput(tokenizer, prompts, args.throughput_batches, args.max_new_tokens,
                                                       model_shapes(args.small)[0])
        print(json.dumps({"hf_tokens_per_s": report["hf_tokens_per_s"]}), flush=True)
    if args.output:
        with open(args.output, "w") as handle:
            json.dump(report, handle, indent=2)


if __name__ == "__main__":
    main()
