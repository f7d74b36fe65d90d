"""Rollout throughput: the vLLM backend against the hf backend (transformers ``generate``), tokens per second.

Same work on both sides: one policy of Qwen2.5-0.5B's shapes (``bench.gpu_shapes.QWEN_05B``, random weights, bf16) built
from its config and saved once with the tiny tokenizer trained in code (nothing is downloaded); both engines load
that directory. Same toy-world prompts, one sample per prompt, temperature 0.8 and top-p 0.95, seeded as in an RL
step, and exactly ``--new-tokens`` tokens per response on both sides (``min_new_tokens = max_new_tokens`` holds eos
back), so every response has the same length. The engines are the pipeline's own: ``HFRolloutEngine`` with the whole
batch in one ``generate`` call, ``VLLMRolloutEngine`` as a colocated run builds it (one GPU, in process).

Tokens/s = generated tokens / wall seconds of one ``generate`` call of the whole batch, after a warm-up call; the
median of ``--repeats`` calls. The hf side runs first and its model is freed before vLLM starts. Without CUDA or
without vLLM only the hf side runs (``--small`` gives tiny shapes for a CPU) and the vLLM column says so.

    python -m bench.rollout_throughput [--batches 64 128] [--new-tokens 128] [--repeats 3] [--output FILE.json]

Prints one markdown row per batch size: | batch | new tokens | hf tokens/s | vLLM tokens/s | vLLM / hf |.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import tempfile
import time

import torch
from transformers import AutoConfig, AutoModelForCausalLM

from bench.gpu_shapes import QWEN_05B, SMALL_QWEN
from bench.measure import synchronize
from pro_rl.data.toy_world import shipped_dir
from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.rollout import HFRolloutEngine, SamplingSettings, VLLMRolloutEngine

MAX_PROMPT_LENGTH = 128


def save_policy(directory: str, tokenizer, shapes: dict) -> None:
    """The bf16 policy built from its config, saved with the tokenizer where both engines load it."""
    torch.manual_seed(0)
    config = AutoConfig.for_model("qwen2", **shapes, pad_token_id=tokenizer.pad_token_id,
                                  bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def tokens_per_second(engine, prompts: list, repeats: int, new_tokens: int) -> float:
    """Median tokens/s of ``repeats`` seeded calls on the whole batch, after one warm-up call."""
    engine.generate(prompts[:8], 1, seed=0)
    rates = []
    for repeat in range(repeats):
        synchronize()
        began = time.perf_counter()
        rollouts = engine.generate(prompts, 1, seed=repeat + 1)
        synchronize()
        seconds = time.perf_counter() - began
        lengths = {len(ids) for ids in rollouts.response_ids}
        if lengths != {new_tokens}:
            raise RuntimeError(f"responses of lengths {sorted(lengths)}, expected all {new_tokens}")
        rates.append(len(rollouts) * new_tokens / seconds)
    return statistics.median(rates)


def vllm_missing() -> str:
    """Why the vLLM side cannot run here ('' when it can)."""
    if not torch.cuda.is_available():
        return "needs a GPU"
    if importlib.util.find_spec("vllm") is None:
        return "vLLM not installed (pip install 'pro-rl[vllm]')"
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.rollout_throughput", description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, nargs="+", default=[64, 128], help="prompts per generate call")
    parser.add_argument("--new-tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--gpu-memory-utilization", type=float, default=0.5)
    parser.add_argument("--small", action="store_true", help="tiny shapes, to check the script on a CPU")
    parser.add_argument("--output", default="", help="also write the figures as JSON")
    args = parser.parse_args()

    tokenizer = train_tiny_tokenizer()
    texts = [json.loads(line)["prompt"] for line in (shipped_dir() / "prompts.jsonl").read_text().splitlines()]
    batches = {size: [texts[i % len(texts)] for i in range(size)] for size in args.batches}
    settings = SamplingSettings(temperature=0.8, top_p=0.95, max_new_tokens=args.new_tokens,
                                min_new_tokens=args.new_tokens)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    directory = tempfile.TemporaryDirectory(prefix="rollout_throughput_")
    save_policy(directory.name, tokenizer, SMALL_QWEN if args.small else QWEN_05B)

    model = AutoModelForCausalLM.from_pretrained(directory.name, dtype=torch.bfloat16)
    hf = HFRolloutEngine(model, tokenizer, settings, max_prompt_length=MAX_PROMPT_LENGTH, device=device,
                         batch_size=max(args.batches))
    hf_rates = {size: tokens_per_second(hf, prompts, args.repeats, args.new_tokens)
                for size, prompts in batches.items()}
    del hf, model
    if device.type == "cuda":
        torch.cuda.empty_cache()

    missing = vllm_missing()
    vllm_rates = {}
    if not missing:
        vllm = VLLMRolloutEngine(directory.name, tokenizer, settings, max_prompt_length=MAX_PROMPT_LENGTH,
                                 gpu_memory_utilization=args.gpu_memory_utilization, dtype="bfloat16")
        vllm_rates = {size: tokens_per_second(vllm, prompts, args.repeats, args.new_tokens)
                      for size, prompts in batches.items()}

    print(f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, torch {torch.__version__}")
    print("| batch | new tokens | hf tokens/s | vLLM tokens/s | vLLM / hf |")
    print("| --- | --- | --- | --- | --- |")
    for size in args.batches:
        if missing:
            print(f"| {size} | {args.new_tokens} | {hf_rates[size]:.0f} | — ({missing}) | — |")
        else:
            print(f"| {size} | {args.new_tokens} | {hf_rates[size]:.0f} | {vllm_rates[size]:.0f} | "
                  f"{vllm_rates[size] / hf_rates[size]:.1f} |")
    if args.output:
        with open(args.output, "w") as handle:
            json.dump({"args": vars(args), "hf_tokens_per_s": hf_rates, "vllm_tokens_per_s": vllm_rates,
                       "vllm_missing": missing}, handle, indent=2)


if __name__ == "__main__":
    main()
