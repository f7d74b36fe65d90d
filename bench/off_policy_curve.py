"""Learning curves of the tiny RLOO run with and without one-step off-policy pipelining, over seeds (CPU).

The run is ``tests/e2e/test_rl_learning.py``'s, longer: the tiny policy warmed up with ``--sft-steps`` SFT steps on
the toy world (once, shared by every run), then RLOO for ``--steps`` steps (8 prompts x 4 samples) against the toy
world's ground-truth reward functions with fixed weights (0.8, 0.1, 0.1) and reward normalisation off, so
``reward/total/mean`` is the scalarised ground truth, comparable across steps and runs. For each seed it runs
``algorithm.off_policy_steps`` 0 and then 1 (same seed: same prompt batches). A run's score is its
``reward/total/mean`` averaged over the last ``--tail`` steps; its rise is that minus the mean of its first 5 steps.
The report gives each seed's scores, their mean ± sample std per mode, and the paired difference (off-policy −
synchronous) with a 95 % t interval over seeds; an interval that covers 0 means no significant difference at this
number of seeds.

Run: ``python -m bench.off_policy_curve [--seeds 0 1 2] [--steps 100] [--tail 20] [--json curve.json]`` (about
6 minutes on 2 idle cores: one local Ray cluster for all runs, started once).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
from pathlib import Path
from typing import Dict, List, Sequence

from bench.measure import REPO, load_average, machine
from bench.pipeline_side import CONFIG, REWARD_FUNCTIONS, function_rewards

T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}  # t(0.975, df)


WEIGHTS = (0.8, 0.1, 0.1)


def warm_up(output_dir: Path, sft_steps: int) -> Path:
    """The SFT policy every RL run starts from (``configs/tiny/sft.yaml``)."""
    import pipelines

    result = pipelines.run(REPO / "configs" / "tiny" / "sft.yaml",
                           [f"run.output_dir={output_dir}", f"policy.sft_steps={sft_steps}", "run.progress=false"])
    return result.output_dir / "final" / "policy"


def run_curve(policy: Path, output_dir: Path, steps: int, seed: int, off_policy_steps: int) -> List[float]:
    """``reward/total/mean`` per step of one RLOO run."""
    import pipelines
    from pro_rl.training.metrics import read_metrics

    pipelines.run(CONFIG, [
        f"policy.model={policy}", *function_rewards(REWARD_FUNCTIONS), "weights.mode=fixed",
        f"weights.fixed=[{','.join(map(str, WEIGHTS))}]", "orchestrator.path=''", "algorithm.normalise_rewards=false",
        "algorithm.name=rloo", f"algorithm.steps={steps}", "algorithm.prompt_batch_size=8", "rollout.num_samples=4",
        "data.eval_prompts=''", "run.checkpoint_every=0", f"run.seed={seed}", "run.progress=false",
        f"algorithm.off_policy_steps={off_policy_steps}", f"run.output_dir={output_dir}"])
    return [row["reward/total/mean"] for row in read_metrics(output_dir / "metrics.jsonl") if "time/step_s" in row]


def paired_interval(differences: Sequence[float]) -> Dict[str, float]:
    """Mean of the paired differences with its 95 % t interval (half-width 0 for one seed)."""
    mean = statistics.fmean(differences)
    if len(differences) < 2:
        return {"mean": mean, "low": mean, "high": mean}
    half = T_975.get(len(differences) - 1, 1.96) * statistics.stdev(differences) / math.sqrt(len(differences))
    return {"mean": mean, "low": mean - half, "high": mean + half}


def report(scores: Dict[int, Dict[int, float]], rises: Dict[int, Dict[int, float]], args,
           info: Dict[str, str]) -> str:
    lines = [f"machine: `{info['uname']}`; nproc {info['nproc']}; load at start {info['load_average']}, at end "
             f"{info['load_average_at_end']}; commit {info['commit']}",
             f"tiny RLOO from a {args.sft_steps}-step SFT policy, {args.steps} steps of 8 x 4; score = scalarised "
             f"ground-truth reward over the last {args.tail} steps (rise over the first 5 in brackets)", "",
             "| seed | synchronous | off-policy 1 | difference |", "|---|---|---|---|"]
    for seed, by_mode in scores.items():
        rise = rises[seed]
        lines.append(f"| {seed} | {by_mode[0]:.4f} ({rise[0]:+.3f}) | {by_mode[1]:.4f} ({rise[1]:+.3f}) | "
                     f"{by_mode[1] - by_mode[0]:+.4f} |")
    modes = {mode: [scores[seed][mode] for seed in scores] for mode in (0, 1)}
    spread = {mode: (statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0) for mode, v in modes.items()}
    difference = paired_interval([b - a for a, b in zip(modes[0], modes[1])])
    lines.append(f"| mean ± std | {spread[0][0]:.4f} ± {spread[0][1]:.4f} | {spread[1][0]:.4f} ± {spread[1][1]:.4f} "
                 f"| {difference['mean']:+.4f} [{difference['low']:+.4f}, {difference['high']:+.4f}] |")
    verdict = ("no significant difference" if difference["low"] <= 0 <= difference["high"] else
               f"off-policy is {'ahead' if difference['mean'] > 0 else 'behind'} by {abs(difference['mean']):.4f}")
    lines += ["", f"Paired difference (off-policy − synchronous), 95 % t interval over {len(scores)} seeds: {verdict}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.off_policy_curve", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--tail", type=int, default=20, help="steps at the end whose rewards make a run's score")
    parser.add_argument("--sft-steps", type=int, default=150, help="SFT warm-up steps of the starting policy")
    parser.add_argument("--json", default="", help="also write the curves and scores to this JSON file")
    args = parser.parse_args()
    info = machine()
    curves: Dict[int, Dict[int, List[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-off-policy-") as temporary:
        workdir = Path(temporary)
        policy = warm_up(workdir / "sft", args.sft_steps)
        for seed in args.seeds:
            curves[seed] = {mode: run_curve(policy, workdir / f"seed{seed}-off{mode}", args.steps, seed, mode)
                            for mode in (0, 1)}
            print(f"seed {seed} done (load {load_average()})", flush=True)
    info["load_average_at_end"] = load_average()
    scores = {seed: {mode: statistics.fmean(curve[-args.tail:]) for mode, curve in by_mode.items()}
              for seed, by_mode in curves.items()}
    rises = {seed: {mode: scores[seed][mode] - statistics.fmean(curve[:5]) for mode, curve in by_mode.items()}
             for seed, by_mode in curves.items()}
    print(report(scores, rises, args, info))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "curves": curves, "scores": scores}, indent=2))


if __name__ == "__main__":
    main()
