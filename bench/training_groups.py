"""Training groups on CPU: a policy of 1 rank against a 2-rank group (gloo), same batches, same seeds.

For each group size the script starts the policy role as ``launch_roles`` does (``actors.launch.start_role``), runs
``--rounds`` RLOO updates and log-prob passes on one fixed batch of random token ids after ``--warmup`` rounds, and
reports the median wall seconds of each (min–max over rounds) and every rank's peak resident memory
(``getrusage`` max RSS). Each rank reserves ``--cpus-per-rank`` CPUs and runs that many torch threads.

    python -m bench.training_groups --json training_groups.json
    python -m bench.training_groups --hidden 512 --layers 8 --zero-stage 2 --json training_groups_zero2.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import ray
import torch

from actors.launch import start_role
from actors.policy import PolicyActor
from bench.measure import REPO, machine, median_after_warmup
from pro_rl.config import load_config
from pro_rl.rl import build_algorithm
from pro_rl.rl.batches import PolicyGradientBatch


def bench_config(args, output_dir: Path):
    rewards = [f"reward_models.{k}.model=pro_rl.data.toy_world:{name}_reward"
               for k, name in enumerate(("helpful", "harmless", "humor"))]
    return load_config(REPO / "configs" / "tiny" / "pro_morlhf.yaml", [
        "policy.model=tiny:gpt2", f"run.output_dir={output_dir}", "weights.mode=uniform", "orchestrator.path=''",
        "data.eval_prompts=''", f"algorithm.prompt_batch_size={args.prompts}", "rollout.num_samples=2",
        f"trainer.micro_batch_size={args.micro_batch_size}", f"trainer.zero_stage={args.zero_stage}",
        f"policy.tiny_hidden_size={args.hidden}", f"policy.tiny_layers={args.layers}", *rewards])


def fixed_batch(args, vocab_size: int = 200) -> tuple[list, list]:
    generator = torch.Generator().manual_seed(0)
    rows = args.prompts * 2
    prompts = torch.randint(3, vocab_size, (rows, args.prompt_tokens), generator=generator).tolist()
    responses = torch.randint(3, vocab_size, (rows, args.response_tokens), generator=generator).tolist()
    return prompts, responses


def time_rounds(call, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        start = time.perf_counter()
        ray.get(call())
        seconds.append(time.perf_counter() - start)
    return seconds


def measure(args, replicas: int) -> dict:
    config = bench_config(args, Path("/tmp/bench_training_groups"))
    cpus = {"num_cpus": args.cpus_per_rank}
    policy = start_role("policy", PolicyActor, replicas, lambda rank: cpus,
                        (config.policy.model, config, build_algorithm("rloo")), cpus)
    try:
        ray.get(policy.__ray_ready__.remote())
        prompts, responses = fixed_batch(args)
        old = ray.get(policy.logprobs.remote(prompts, responses))
        batch = PolicyGradientBatch(prompts, responses, old, torch.linspace(-1, 1, len(prompts)))
        rounds = args.warmup + args.rounds
        update = time_rounds(lambda: policy.update.remote(batch, 0), rounds)
        logprobs = time_rounds(lambda: policy.logprobs.remote(prompts, responses), rounds)
        members = policy.ranks if replicas > 1 else [policy]
        memory = ray.get([member.peak_memory_mib.remote() for member in members])
    finally:
        for member in (policy.ranks if replicas > 1 else [policy]):
            ray.kill(member, no_restart=True)
    kept = lambda values: values[args.warmup:]  # noqa: E731
    return {"ranks": replicas, "update_s": median_after_warmup(update, args.warmup),
            "update_range_s": [min(kept(update)), max(kept(update))],
            "logprobs_s": median_after_warmup(logprobs, args.warmup),
            "logprobs_range_s": [min(kept(logprobs)), max(kept(logprobs))], "peak_rss_mib_per_rank": memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8, help="prompts per update (2 samples each)")
    parser.add_argument("--prompt-tokens", type=int, default=32)
    parser.add_argument("--response-tokens", type=int, default=64)
    parser.add_argument("--micro-batch-size", type=int, default=4)
    parser.add_argument("--cpus-per-rank", type=float, default=1.0)
    parser.add_argument("--hidden", type=int, default=64, help="policy.tiny_hidden_size")
    parser.add_argument("--layers", type=int, default=2, help="policy.tiny_layers")
    parser.add_argument("--zero-stage", type=int, default=0)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    before = machine()
    results = [measure(args, replicas) for replicas in (1, 2)]
    report = {"machine": before, "load_average_after": machine()["load_average"], "args": vars(args) | {
        "json": str(args.json)}, "results": results}
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
