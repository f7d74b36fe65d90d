"""CPU benchmark: how the RLOO pipeline's step time grows with the number K of reward objectives.

One tiny policy (``tiny:gpt2`` built from its config and saved, as in ``bench.cpu_vs_trl``), the RLOO pipeline of
``configs/tiny/pro_morlhf.yaml`` with uniform weights, 8 prompts x 4 samples, 40 new tokens, and K = 1, 2, 4 reward
objectives of two kinds:

- ``functions``: the toy world's reward functions (``helpful``, ``harmless``, ``humor``, then ``helpful`` again
  under a second name) — they cost almost nothing, so the K reward actors' hops and processes are what is measured;
- ``models``: K ``tiny:gpt2`` reward models built from config in their actors (random weights; a score is a score),
  each a forward pass over the 32 (prompt, response) texts.

Each objective is one reward actor (``resources.reward.num_cpus`` 0.2 each), all K scored concurrently in the
``score`` stage. On 2 cores the K actors contend for the same cores as each other and as the rest of the pipeline;
the target (K=4 within 1.2x of K=1) is stated for GPU, where each reward model has its own share of a device.

All runs share one Ray cluster in this process, one after another, in the order K = 1, 2, 4, 1 per kind: the
machine's load drifts, and the two K=1 runs bracket the others. Reported per run: median ``time/step_s`` and
``time/<stage>_s`` (first ``--warmup`` steps dropped) and the CPU seconds per step of the whole process tree (driver,
Ray daemons, actors) split by process; per kind, the ratio K=4 / K=1 of the medians over the runs of each K.

Run: ``python -m bench.k_scaling`` (4 to 10 minutes on 2 loaded cores, mostly actor start-up).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

from bench.measure import cpu_by_process, finish, load_average, machine
from bench.pipeline_side import (CONFIG, REWARD_FUNCTIONS, SAMPLES_PER_PROMPT, function_rewards, our_overrides, run_ours,
                                 save_tiny_policy)

KINDS = ("functions", "models")


def reward_specs(kind: str, k: int):
    """K reward objectives: toy-world functions (reused under new names past the third) or tiny reward models."""
    from pro_rl.config.schema import RewardModelConfig, TrainingConfig

    if kind == "functions":
        specs = []
        for index in range(k):
            function = REWARD_FUNCTIONS[index % len(REWARD_FUNCTIONS)]
            name = function if index < len(REWARD_FUNCTIONS) else f"{function}_{index // len(REWARD_FUNCTIONS) + 1}"
            specs.append(RewardModelConfig(name=name, model=f"pro_rl.data.toy_world:{function}_reward"))
        return specs
    return [RewardModelConfig(name=f"reward_model_{index}", model="tiny:gpt2", training=TrainingConfig(max_length=96))
            for index in range(k)]


def run_one(kind: str, k: int, model_dir: Path, workdir: Path, args) -> dict:
    """One RLOO pipeline run with K reward objectives of ``kind`` (``bench.pipeline_side.run_ours``)."""
    from pro_rl.config import load_config
    from pro_rl.config.loading import validate

    output_dir = workdir / f"{kind}-k{k}"
    overrides = our_overrides(model_dir, output_dir, args.steps, "rloo", SAMPLES_PER_PROMPT["rloo"])
    config = load_config(CONFIG, overrides + function_rewards(REWARD_FUNCTIONS))
    config.reward_models = reward_specs(kind, k)
    validate(config, "k_scaling")
    print(f"[{time.strftime('%H:%M:%S')}] {kind} K={k} (load {load_average()})", flush=True)
    return run_ours(config, [], output_dir, args.warmup)


def median_of(runs: List[dict], value) -> float:
    return statistics.median(value(run) for run in runs)


def report(results: Dict[str, List[Tuple[int, dict]]], info: Dict[str, str], args) -> str:
    lines = [f"machine: `{info['uname']}`; nproc {info['nproc']}; load average at start {info['load_average']}, "
             f"at end {info['load_average_at_end']}",
             f"commit: {info['commit']}; RLOO, 8 prompts x 4 samples, 40 new tokens, {args.steps} steps per run, "
             f"first {args.warmup} dropped, medians; runs in the order listed", "",
             "| rewards | K | step s | score s | generate s | reference s | update s | CPU-s/step | load before |",
             "|---|---|---|---|---|---|---|---|---|"]
    for kind, runs in results.items():
        for k, run in runs:
            stages = run["median_stage_s"]
            lines.append(f"| {kind} | {k} | {run['median_step_s']:.3f} | {stages['score']:.3f} | "
                         f"{stages['generate']:.3f} | {stages['reference']:.3f} | {stages['update']:.3f} | "
                         f"{run['cpu_s_per_step']:.3f} | {run['load_before'].split()[0]} |")
    lines.append("")
    for kind, runs in results.items():
        by_k = {k: [run for key, run in runs if key == k] for k, _ in runs}
        low, high = min(by_k), max(by_k)
        ratio = {name: median_of(by_k[high], value) / median_of(by_k[low], value) for name, value in (
            ("step", lambda run: run["median_step_s"]), ("score", lambda run: run["median_stage_s"]["score"]),
            ("cpu", lambda run: run["cpu_s_per_step"]))}
        score_ms = [1000 * median_of(by_k[k], lambda run: run["median_stage_s"]["score"]) for k in (low, high)]
        lines.append(f"- {kind} (medians over the runs of each K): step time K={high} / K={low} = {ratio['step']:.2f}; "
                     f"CPU-s/step {ratio['cpu']:.2f}; score stage {ratio['score']:.2f} "
                     f"({score_ms[0]:.1f} → {score_ms[1]:.1f} ms)")
    lines += ["", "CPU seconds per step by process:", ""]
    for kind, runs in results.items():
        for k, run in runs:
            lines.append(f"- {kind} K={k}: {cpu_by_process([run])}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.k_scaling", description=__doc__.splitlines()[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 1],
                        help="numbers of reward objectives, run in this order (K=1 first and last brackets drift)")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--steps", type=int, default=20, help="RL steps per run (the first --warmup are dropped)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", default="", help="also write all results to this JSON file")
    args = parser.parse_args()
    info = machine()
    results: Dict[str, List[Tuple[int, dict]]] = {kind: [] for kind in args.kinds}
    with tempfile.TemporaryDirectory(prefix="bench-k-scaling-") as temporary:
        workdir = Path(temporary)
        model_dir = save_tiny_policy(workdir / "tiny-gpt2")
        for kind in args.kinds:
            for index, k in enumerate(args.ks):
                results[kind].append((k, run_one(kind, k, model_dir, workdir / str(index), args)))
    finish(info, lambda: report(results, info, args), args.json, results)


if __name__ == "__main__":
    main()
