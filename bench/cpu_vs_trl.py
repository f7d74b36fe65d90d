"""CPU benchmark: seconds per RL step of our RLOO and online-DPO pipelines against TRL 1.16's trainers.

Both sides load one tiny policy (``tiny:gpt2`` from ``pro_rl.models.build_policy``, saved with ``save_pretrained``
to a temporary directory, tokenizer included), sample the same batch shape from the toy world's prompts
(RLOO: 8 prompts x 4 samples; online DPO: 8 prompts x 2 samples, TRL's fixed two), generate the same number of
tokens with the same sampling settings, and score with the same K = 3 reward functions (the toy world's
``helpful_reward``, ``harmless_reward``, ``humor_reward``) weighted uniformly. Learning rate, clipping ε, KL β,
DPO β, AdamW without weight decay, gradient clipping 1.0, a constant schedule, one optimizer step per RL step, fp32,
dropout off, no evaluation, no checkpoints.

- Ours: ``pipelines.run("configs/tiny/pro_morlhf.yaml", overrides)``, i.e. the Ray pipeline with one actor per
  role (policy, reference, rollout, K reward actors): every stage is a process hop through Ray's object store.
  Step times are ``time/step_s`` from ``metrics.jsonl``; the stage split is ``time/<stage>_s``. Two variants:
  ``ours`` (``algorithm.off_policy_steps=0``, generate then train) and ``ours_overlap`` (``=1``: the rollout actor
  samples the next batch while the policy actor trains on this one).
- TRL: ``RLOOTrainer`` / ``experimental.online_dpo.OnlineDPOTrainer`` in this one process (no Ray, no hops),
  transformers ``generate`` (``use_vllm=False``). Step times come from a ``TrainerCallback``
  (``on_step_begin`` → ``on_step_end``); the stage split from wrappers around the trainer's generate, reward and
  log-prob methods.

Each (side, algorithm) runs in its own subprocess, ours, ours with overlap, then TRL's back to back per algorithm,
``--rounds`` times, so no Ray daemon runs while TRL is timed. Per run: the median step time after dropping the first ``--warmup`` steps,
the load average before it, and the CPU seconds per step of the side's whole process tree (ours: driver, Ray daemons
and actors, split by process; TRL: its process). On a loaded machine wall clock depends on the CPU share each side
gets (one single-threaded process competes for one core; the pipeline's processes for both), CPU seconds do not.
Every actor of ours runs 1 torch thread; TRL runs ``--trl-threads`` (1: with 2, OpenMP threads stall on an
oversubscribed machine).

Run: ``python -m bench.cpu_vs_trl`` (about 10 minutes on 2 cores; ``--steps`` trades time for precision).
This module is the driver and the report; our side is ``bench.pipeline_side``, TRL's ``bench.trl_side``, the CPU
sampler ``bench.measure``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Sequence

from bench.measure import REPO, cpu_by_process, finish, load_average, machine
from bench.pipeline_side import (CONFIG, PROMPTS_PER_STEP, REWARD_FUNCTIONS, SAMPLES_PER_PROMPT, function_rewards,
                                 our_overrides, run_ours, save_tiny_policy)
from bench.trl_side import STAGES, run_trl

OURS = {"ours": 0, "ours_overlap": 1}  # our variants: algorithm.off_policy_steps
SIDES = (*OURS, "trl")


# --- one side in a subprocess, and the comparison ----------------------------------------------------------------

def run_side(args) -> None:
    """In the subprocess: one (side, algorithm) run, its result written to ``--result`` as JSON."""
    workdir = Path(args.workdir)
    if args.side in OURS:
        output_dir = workdir / f"{args.side}-{args.algorithm}"
        overrides = our_overrides(Path(args.model), output_dir, args.steps, args.algorithm,
                                  SAMPLES_PER_PROMPT[args.algorithm]) + function_rewards(REWARD_FUNCTIONS)
        result = run_ours(CONFIG, overrides + [f"algorithm.off_policy_steps={OURS[args.side]}"], output_dir,
                          args.warmup)
    else:
        result = run_trl(args.algorithm, Path(args.model), args.steps, args.warmup, workdir / f"trl-{args.algorithm}",
                         args.trl_threads)
    Path(args.result).write_text(json.dumps(result, indent=2))


def spawn(side: str, algorithm: str, model_dir: Path, workdir: Path, round_index: int, args) -> dict:
    """Run one side in a subprocess of this module (from the repository root); returns its result."""
    result_path = workdir / f"{side}-{algorithm}-{round_index}.json"
    command = [sys.executable, "-m", "bench.cpu_vs_trl", "--side", side, "--algorithm", algorithm,
               "--model", str(model_dir), "--workdir", str(workdir / f"round{round_index}"), "--result", str(result_path),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--trl-threads", str(args.trl_threads)]
    print(f"[{time.strftime('%H:%M:%S')}] round {round_index}: {side} {algorithm} (load {load_average()})", flush=True)
    log = workdir / f"{side}-{algorithm}-{round_index}.log"
    with log.open("w") as handle:
        completed = subprocess.run(command, cwd=REPO, stdout=handle, stderr=subprocess.STDOUT,
                                   env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if completed.returncode:
        raise RuntimeError(f"{side} {algorithm} failed (exit {completed.returncode}):\n{log.read_text()[-3000:]}")
    return json.loads(result_path.read_text())


def median_over_runs(runs: Sequence[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def stage_row(runs: Sequence[dict]) -> Dict[str, float]:
    """generate / score / reference (old + reference log-probs) / update / other, medians in seconds."""
    row = {name: statistics.median(run["median_stage_s"].get(name, 0.0) for run in runs) for name in STAGES}
    row["other"] = max(0.0, median_over_runs(runs, "median_step_s") - sum(row.values()))
    return row


def report(results: Dict[str, Dict[str, List[dict]]], info: Dict[str, str], args) -> str:
    lines = [f"machine: `{info['uname']}`; nproc {info['nproc']}; load average at start {info['load_average']}, "
             f"at end {info['load_average_at_end']}",
             f"commit: {info['commit']}; {args.rounds} round(s) of {', '.join(SIDES)} per algorithm, {args.steps} "
             f"steps per run, first {args.warmup} dropped; TRL torch threads {args.trl_threads}", "",
             "| algorithm | prompts x samples | round | ours s/step | ours overlap s/step | TRL s/step | ours/TRL | "
             "overlap/TRL | CPU-s/step ours; overlap; TRL | load before ours; overlap; TRL |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for algorithm, sides in results.items():
        batch = f"{PROMPTS_PER_STEP} x {SAMPLES_PER_PROMPT[algorithm]}"
        for index, runs in enumerate(zip(*(sides[side] for side in SIDES)), 1):
            ours, overlap, trl = (run["median_step_s"] for run in runs)
            lines.append(f"| {algorithm} | {batch} | {index} | {ours:.3f} | {overlap:.3f} | {trl:.3f} | "
                         f"{ours / trl:.2f} | {overlap / trl:.2f} | "
                         + "; ".join(f"{run['cpu_s_per_step']:.3f}" for run in runs) + " | "
                         + "; ".join(run["load_before"].split()[0] for run in runs) + " |")
        ours, overlap, trl = (median_over_runs(sides[side], "median_step_s") for side in SIDES)
        cpu = "; ".join(f"**{median_over_runs(sides[side], 'cpu_s_per_step'):.3f}**" for side in SIDES)
        lines.append(f"| **{algorithm}** | {batch} | all | **{ours:.3f}** | **{overlap:.3f}** | **{trl:.3f}** | "
                     f"**{ours / trl:.2f}** | **{overlap / trl:.2f}** | {cpu} | |")
    lines += ["", "Stage medians (seconds; TRL's from wrappers around its generate / reward / no-grad log-prob "
              "methods, its update = the rest of the step; with overlap, ours' generate is the wait for the "
              "next batch that the update did not hide):", "",
              "| algorithm | side | generate | score | reference | update | other | response tokens |",
              "|---|---|---|---|---|---|---|---|"]
    for algorithm, sides in results.items():
        for side in SIDES:
            row = stage_row(sides[side])
            tokens = median_over_runs(sides[side], "mean_response_tokens")
            lines.append(f"| {algorithm} | {side} | " + " | ".join(f"{row[name]:.3f}" for name in row)
                         + f" | {tokens:.1f} |")
    lines += ["", "Ours, every stage (seconds, median over runs of the per-run medians):", ""]
    for algorithm, sides in results.items():
        for side in OURS:
            names = sorted({name for run in sides[side] for name in run["median_stage_s"]})
            stages = ", ".join(f"{name} {statistics.median(run['median_stage_s'][name] for run in sides[side]):.4f}"
                               for name in names)
            trip = median_over_runs(sides[side], "ray_round_trip_ms")
            lines.append(f"- {algorithm}, {side}: {stages}; empty Ray actor round trip {trip:.2f} ms")
    lines += ["", "Ours, CPU seconds per step by process (median over runs):", ""]
    for algorithm, sides in results.items():
        for side in OURS:
            lines.append(f"- {algorithm}, {side}: {cpu_by_process(sides[side])}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu_vs_trl", description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="RL steps per run (the first --warmup are dropped)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="ours-then-TRL pairs per algorithm")
    parser.add_argument("--algorithms", nargs="+", default=["rloo", "online_dpo"], choices=list(SAMPLES_PER_PROMPT))
    parser.add_argument("--trl-threads", type=int, default=1,
                        help="torch threads of the TRL process (ours: 1 per actor); 2 stalls on a loaded machine")
    parser.add_argument("--json", default="", help="also write all results to this JSON file")
    parser.add_argument("--side", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--algorithm", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run_side(args)
        return
    info = machine()
    results: Dict[str, Dict[str, List[dict]]] = {algorithm: {side: [] for side in SIDES}
                                                 for algorithm in args.algorithms}
    with tempfile.TemporaryDirectory(prefix="bench-cpu-vs-trl-") as temporary:
        workdir = Path(temporary)
        model_dir = save_tiny_policy(workdir / "tiny-gpt2")
        for round_index in range(1, args.rounds + 1):
            for algorithm in args.algorithms:
                for side in SIDES:
                    results[algorithm][side].append(spawn(side, algorithm, model_dir, workdir, round_index, args))
    finish(info, lambda: report(results, info, args), args.json, results)


if __name__ == "__main__":
    main()
