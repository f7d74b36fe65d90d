"""SGA's added latency (paper Table 11): sensing + conditioned generation against plain generation, per prompt.

One LM of fixed tiny shapes (``tiny:<arch>`` built from its config, random weights, nothing downloaded) with a fresh
SGA score head of SGA's size (3 layers, hidden 1024) answers the toy world's held-out prompts four ways, each
timed as one call on a batch of prompts:

    plain          ``HFRolloutEngine.generate`` on the raw prompts (what the LM costs without SGA)
    plain+scores   the same engine on the score-conditioned prompts (a plain generate of SGA's longer prompt)
    sga            ``SGAGenerator.generate``: one prefill of the prefixes gives ŝ and the KV cache, then the score
                   text and the rest of the prompt continue from that cache (``pro_rl.rollout.sga``)
    sense          ``sense_scores`` alone: the prefill of the prefixes and the head, no generation

Batch 1 runs ``--prompts-b1`` prompts one at a time; batch 32 runs one call of 32 prompts. Every response has exactly
``--new-tokens`` tokens (``min_new_tokens`` holds eos back), sampled with SGA's T 0.6 and top-p 0.9 and the same seed
on every side. Each round times the four variants back to back at both batch sizes (so they share the load's
drift), after one warm-up round; printed are the median ms per prompt over ``--rounds`` rounds with the min–max
spread, and the added ms of ``sga`` over ``plain`` and over ``plain+scores`` (the cost of sensing itself) — once in
wall-clock ms and once in CPU ms of the process (with ``--threads 1`` the CPU ms hardly depend on the machine's load,
wall ms do).

    python -m bench.sga_sensing [--arch qwen2] [--hidden 128] [--layers 4] [--new-tokens 32] [--rounds 5]
                                [--threads 1] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Callable, Dict, List, Tuple

import torch

from bench.measure import machine, synchronize
from pro_rl.config.schema import ModelConfig
from pro_rl.data.canonical import read_jsonl
from pro_rl.data.conditioning import sga_prompt
from pro_rl.data.toy_world import OBJECTIVES, shipped_dir
from pro_rl.models.builders import build_policy
from pro_rl.models.scoring import default_device
from pro_rl.models.sga import build_score_head, sense_scores
from pro_rl.rollout.base import SamplingSettings
from pro_rl.rollout.hf import HFRolloutEngine
from pro_rl.rollout.sga import SGAGenerator

VARIANTS = ("plain", "plain+scores", "sga", "sense")


def variants(args: argparse.Namespace) -> Dict[str, Callable[[List[str], int], object]]:
    """Each variant as ``(prompts, seed) → result`` on one shared LM and head."""
    device = default_device(args.device)
    spec = ModelConfig(model=f"tiny:{args.arch}", tiny_hidden_size=args.hidden, tiny_layers=args.layers,
                       tiny_heads=args.heads)
    torch.manual_seed(0)
    lm, tokenizer = build_policy(spec)
    head = build_score_head(lm, list(OBJECTIVES), hidden_size=1024, num_layers=3)
    settings = SamplingSettings(temperature=0.6, top_p=0.9, max_new_tokens=args.new_tokens,
                                min_new_tokens=args.new_tokens)
    plain = HFRolloutEngine(lm, tokenizer, settings, device=device)
    sga = SGAGenerator(lm, head, tokenizer, settings, device=device)
    fixed = [0.75, 0.25, 0.5]
    return {
        "plain": lambda prompts, seed: plain.generate(prompts, 1, seed=seed),
        "plain+scores": lambda prompts, seed: plain.generate([sga_prompt(p, OBJECTIVES, fixed) for p in prompts], 1,
                                                             seed=seed),
        "sga": lambda prompts, seed: sga.generate(prompts, 1, seed=seed),
        "sense": lambda prompts, seed: sense_scores(sga.lm, sga.head, tokenizer, prompts, batch_size=len(prompts)),
    }


def ms_per_prompt(run: Callable, prompts: List[str], batch: int, seed: int) -> Tuple[float, float]:
    """(wall ms, CPU ms of this process) per prompt of answering ``prompts`` in calls of ``batch`` prompts."""
    synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(prompts), batch):
        run(prompts[start:start + batch], seed)
    synchronize()
    return (1000 * (time.perf_counter() - wall) / len(prompts), 1000 * (time.process_time() - cpu) / len(prompts))


def measure(args: argparse.Namespace) -> Dict[str, Dict[str, Dict[str, List[float]]]]:
    """{"wall" | "cpu": {batch: {variant: [ms per prompt per round]}}}, the first (warm-up) round dropped."""
    prompts = [row["prompt"] for row in read_jsonl(shipped_dir() / "eval_prompts.jsonl")]
    workloads = {"1": prompts[:args.prompts_b1], "32": prompts[:32]}
    runs = variants(args)
    times = {clock: {batch: {name: [] for name in VARIANTS} for batch in workloads} for clock in ("wall", "cpu")}
    for round_index in range(args.rounds + 1):
        for batch, batch_prompts in workloads.items():
            for name in VARIANTS:
                wall, cpu = ms_per_prompt(runs[name], batch_prompts, int(batch), seed=round_index)
                if round_index:
                    times["wall"][batch][name].append(wall)
                    times["cpu"][batch][name].append(cpu)
    return times


def table(times: Dict[str, Dict[str, List[float]]], clock: str) -> List[str]:
    """Markdown rows: per batch, each variant's median ms/prompt [min–max], and sga's added ms."""
    lines = [f"| {clock}: batch | plain | plain+scores | sga (sense + generate) | sense alone | sga − plain | sga − plain+scores |",
             "|---|---|---|---|---|---|---|"]
    for batch, by_variant in times.items():
        cells = [f"{statistics.median(v):.2f} [{min(v):.2f}–{max(v):.2f}]" for v in
                 (by_variant[name] for name in VARIANTS)]
        added = [statistics.median(s - p for s, p in zip(by_variant["sga"], by_variant[base]))
                 for base in ("plain", "plain+scores")]
        lines.append(f"| {batch} | " + " | ".join(cells) + f" | {added[0]:+.2f} | {added[1]:+.2f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="qwen2")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--new-tokens", type=int, default=32)
    parser.add_argument("--prompts-b1", type=int, default=8, help="prompts answered one by one at batch 1")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", help="also write the raw times here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    facts = machine()
    times = measure(args)
    print(f"machine: {facts['uname']}; nproc {facts['nproc']}; commit {facts['commit']}; "
          f"load before/after: {facts['load_average']} / {machine()['load_average']}")
    print(f"model: tiny:{args.arch} hidden {args.hidden}, {args.layers} layers; head 3×1024; {args.new_tokens} new "
          f"tokens; ms per prompt, median [min–max] of {args.rounds} rounds")
    print("\n".join(table(times["wall"], "wall ms") + [""] + table(times["cpu"], "CPU ms")))
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"machine": facts, "args": vars(args), "ms_per_prompt": times}, handle, indent=2)


if __name__ == "__main__":
    main()
