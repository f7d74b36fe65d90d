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
  Step times are ``time/step_s`` from ``metrics.jsonl``; the stage split is ``time/<stage>_s``.
- TRL: ``RLOOTrainer`` / ``experimental.online_dpo.OnlineDPOTrainer`` in this one process (no Ray, no hops),
  transformers ``generate`` (``use_vllm=False``). Step times come from a ``TrainerCallback``
  (``on_step_begin`` → ``on_step_end``); the stage split from wrappers around the trainer's generate, reward and
  log-prob methods.

Each (side, algorithm) runs in its own subprocess, ours then TRL's back to back per algorithm, ``--rounds`` times,
so no Ray daemon runs while TRL is timed. Per run: the median step time after dropping the first ``--warmup`` steps,
the load average before it, and the CPU seconds per step of the side's whole process tree (ours: driver, Ray daemons
and actors, split by process; TRL: its process). On a loaded machine wall clock depends on the CPU share each side
gets (one single-threaded process competes for one core; the pipeline's processes for both), CPU seconds do not.
Every actor of ours runs 1 torch thread; TRL runs ``--trl-threads`` (1: with 2, OpenMP threads stall on an
oversubscribed machine).

Run: ``python bench/cpu_vs_trl.py`` (6.5 to 7.5 minutes on 2 loaded cores; ``--steps`` trades time for precision).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "configs" / "tiny" / "pro_morlhf.yaml"
REWARD_FUNCTIONS = ("helpful", "harmless", "humor")
STAGES = ("generate", "score", "reference", "update")

# Settings both sides share (the tiny config's values where it has one).
LEARNING_RATE = 3.0e-4
KL_COEF = 0.05
CLIP_EPS = 0.2
DPO_BETA = 0.1
TEMPERATURE = 1.0
MAX_NEW_TOKENS = 40
PROMPTS_PER_STEP = 8
SAMPLES_PER_PROMPT = {"rloo": 4, "online_dpo": 2}


# --- shared with bench/k_scaling.py ------------------------------------------------------------------------------

def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> Dict[str, str]:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
    return {"uname": uname.stdout.strip(), "nproc": str(os.cpu_count()), "load_average": load_average(),
            "commit": commit.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else ""),
            "python": platform.python_version()}


def save_tiny_policy(directory: Path) -> Path:
    """``tiny:gpt2`` built from its config (random weights, tokenizer trained in code), saved for both sides."""
    from pro_rl.config.schema import PolicyConfig
    from pro_rl.models.builders import build_policy

    model, tokenizer = build_policy(PolicyConfig(model="tiny:gpt2"))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def median_after_warmup(values: Sequence[float], warmup: int) -> float:
    kept = list(values)[warmup:]
    return statistics.median(kept) if kept else float("nan")


def our_overrides(model_dir: Path, output_dir: Path, steps: int, algorithm: str, samples: int) -> List[str]:
    """Overrides of configs/tiny/pro_morlhf.yaml: the saved tiny policy, uniform weights, no held-out evaluation,
    no checkpoints, no progress bar. Reward models are set by the caller."""
    return [f"policy.model={model_dir}", "weights.mode=uniform", f"run.output_dir={output_dir}", "run.progress=false",
            "run.checkpoint_every=0", "data.eval_prompts=''", f"algorithm.steps={steps}",
            f"algorithm.name={algorithm}", f"algorithm.prompt_batch_size={PROMPTS_PER_STEP}",
            f"algorithm.kl_coef={KL_COEF}", f"algorithm.clip_eps={CLIP_EPS}", f"algorithm.dpo_beta={DPO_BETA}",
            f"policy.learning_rate={LEARNING_RATE}", f"rollout.num_samples={samples}",
            f"rollout.temperature={TEMPERATURE}", "rollout.top_p=1.0", "rollout.top_k=0",
            f"rollout.max_new_tokens={MAX_NEW_TOKENS}"]


def function_rewards(names: Sequence[str]) -> List[str]:
    return [f"reward_models.{index}.model=pro_rl.data.toy_world:{name}_reward" for index, name in enumerate(names)]


def ray_round_trip_ms(calls: int = 40) -> float:
    """Median milliseconds of one empty actor call (``ray.get(actor.echo.remote(None))``) on the running cluster:
    the floor under each of the pipeline's driver → actor hops."""
    import ray

    class Echo:
        def echo(self, value):
            return value

    actor = ray.remote(num_cpus=0)(Echo).remote()
    ray.get(actor.echo.remote(None))
    seconds = []
    for _ in range(calls):
        began = time.perf_counter()
        ray.get(actor.echo.remote(None))
        seconds.append(time.perf_counter() - began)
    ray.kill(actor)
    return 1000 * statistics.median(seconds)


def _stat(stat_path: str) -> tuple[str, int, int]:
    """(command name, parent pid, user + system clock ticks) from a /proc/<pid>[/task/<tid>]/stat file."""
    with open(stat_path, "rb") as handle:
        text = handle.read()
    name, fields = text[text.index(b"(") + 1:text.rindex(b")")], text.rsplit(b")", 1)[1].split()
    return name.decode(errors="replace"), int(fields[1]), int(fields[11]) + int(fields[12])


def process_tree_cpu_seconds(root: int) -> Dict[str, float]:
    """CPU seconds used so far by ``root`` ("driver") and every process below it, summed per command name
    (``ray::PolicyActo``, ``raylet``, ``gcs_server``, ...: Ray's daemons and actor workers when ``root`` is the
    driver that started the local cluster)."""
    children, stats = defaultdict(list), {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stats[int(entry)] = _stat(f"/proc/{entry}/stat")
            except (OSError, IndexError, ValueError):
                continue
            children[stats[int(entry)][1]].append(int(entry))
    seconds: Dict[str, float] = defaultdict(float)
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in stats:
            name = "driver" if pid == root else stats[pid][0]
            seconds[name] += stats[pid][2] / os.sysconf("SC_CLK_TCK")
        stack.extend(children.get(pid, ()))
    return dict(seconds)


class TreeCpuSampler(threading.Thread):
    """Samples (steps logged so far, CPU seconds of this process tree) every ``interval`` seconds while a pipeline
    runs, so CPU seconds per step can be read off the steady-state window. Its own CPU time is subtracted."""

    def __init__(self, metrics_path: Path, interval: float = 0.1):
        super().__init__(daemon=True)
        self.metrics_path, self.interval = metrics_path, interval
        self.samples: List[tuple[int, Dict[str, float], float]] = []  # (steps logged, CPU s per name, wall clock)
        self.stopped = threading.Event()

    def run(self) -> None:
        own = f"/proc/self/task/{threading.get_native_id()}/stat"
        tick = os.sysconf("SC_CLK_TCK")
        while not self.stopped.wait(self.interval):
            try:
                steps = sum(1 for line in self.metrics_path.read_text().splitlines() if "time/step_s" in line)
            except OSError:
                steps = 0
            cpu = process_tree_cpu_seconds(os.getpid())
            cpu["driver"] = cpu.get("driver", 0.0) - _stat(own)[2] / tick
            self.samples.append((steps, cpu, time.perf_counter()))

    def per_step(self, warmup: int) -> tuple[float, float, Dict[str, float]]:
        """(CPU seconds, wall seconds, CPU seconds per process name) per step, from the first sample after step
        ``warmup`` to the first sample after the last step."""
        start = next((s for s in self.samples if s[0] >= warmup), None)
        last = max((s[0] for s in self.samples), default=0)
        end = next((s for s in self.samples if s[0] == last), None)
        if start is None or end is None or end[0] <= start[0]:
            return float("nan"), float("nan"), {}
        steps = end[0] - start[0]
        by_name = {name: max(0.0, end[1][name] - start[1].get(name, 0.0)) / steps for name in end[1]}
        return sum(by_name.values()), (end[2] - start[2]) / steps, by_name


def run_ours(config, overrides: Sequence[str], output_dir: Path, warmup: int) -> dict:
    """One pipeline run; per-step times from its metrics.jsonl, medians after ``warmup`` steps; then the Ray
    round-trip time on the same cluster."""
    import pipelines
    from pro_rl.training.metrics import read_metrics

    load = load_average()
    sampler = TreeCpuSampler(output_dir / "metrics.jsonl")
    sampler.start()
    began = time.perf_counter()
    pipelines.run(config, overrides)
    wall = time.perf_counter() - began
    sampler.stopped.set()
    sampler.join()
    cpu_per_step, window_wall_per_step, cpu_by_process = sampler.per_step(warmup)
    rows = [row for row in read_metrics(output_dir / "metrics.jsonl") if "time/step_s" in row]
    stage_names = sorted({key[5:-2] for row in rows for key in row if key.startswith("time/") and key != "time/step_s"})
    return {
        "load_before": load, "load_after": load_average(), "run_wall_s": wall, "steps": len(rows),
        "step_s": [row["time/step_s"] for row in rows],
        "median_step_s": median_after_warmup([row["time/step_s"] for row in rows], warmup),
        "median_stage_s": {name: median_after_warmup([row.get(f"time/{name}_s", 0.0) for row in rows], warmup)
                           for name in stage_names},
        "mean_response_tokens": statistics.mean(row["response/length"] for row in rows[warmup:]),
        "cpu_s_per_step": cpu_per_step, "window_wall_s_per_step": window_wall_per_step,
        "cpu_s_per_step_by_process": cpu_by_process, "ray_round_trip_ms": ray_round_trip_ms(),
    }


# --- TRL side ----------------------------------------------------------------------------------------------------

def trl_reward_functions():
    """The toy world's reward functions with TRL's calling convention (prompts=, completions=, **kwargs)."""
    from pro_rl.data import toy_world

    def wrap(function):
        def reward(prompts, completions, **_):
            return function(prompts, completions)

        reward.__name__ = function.__name__
        return reward

    return [wrap(getattr(toy_world, f"{name}_reward")) for name in REWARD_FUNCTIONS]


class StageClock:
    """Wall clock per TRL step (``on_step_begin`` → ``on_step_end``) and per wrapped trainer method."""

    def __init__(self):
        self.step_seconds: List[float] = []
        self.stage_seconds: List[Dict[str, float]] = []
        self.response_tokens: List[float] = []
        self.step_end_clocks: List[tuple[float, float]] = []  # (process CPU seconds, wall clock) at each step end
        self._began = 0.0
        self._current: Dict[str, float] = {}

    def callback(self):
        from transformers import TrainerCallback

        clock = self

        class StepTimer(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                clock._current = {name: 0.0 for name in STAGES[:-1]}
                clock._began = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                now = time.perf_counter()
                seconds = now - clock._began
                clock.step_seconds.append(seconds)
                clock.step_end_clocks.append((time.process_time(), now))
                measured = dict(clock._current)
                measured["update"] = seconds - sum(clock._current.values())  # policy forward, backward, optimizer
                clock.stage_seconds.append(measured)

        return StepTimer()

    def per_step(self, warmup: int) -> tuple[float, float]:
        """(CPU seconds of this process, wall seconds) per step from the end of step ``warmup`` to the last."""
        first = max(warmup, 1)  # the window starts at a step end
        if len(self.step_end_clocks) <= first:
            return float("nan"), float("nan")
        (cpu0, wall0), (cpu1, wall1) = self.step_end_clocks[first - 1], self.step_end_clocks[-1]
        steps = len(self.step_end_clocks) - first
        return (cpu1 - cpu0) / steps, (wall1 - wall0) / steps

    def generated(self, mean_response_tokens: float) -> str:
        self.response_tokens.append(mean_response_tokens)
        return "generate"

    def wrap(self, trainer, method: str, stage_of) -> None:
        """Time ``trainer.<method>``; ``stage_of(result)`` names the stage (or None: not a separate stage)."""
        original = getattr(trainer, method)

        def timed(*args, **kwargs):
            began = time.perf_counter()
            result = original(*args, **kwargs)
            stage = stage_of(result)
            if stage is not None:
                self._current[stage] = self._current.get(stage, 0.0) + time.perf_counter() - began
            return result

        setattr(trainer, method, timed)


def trl_trainer(algorithm: str, model_dir: Path, steps: int, workdir: Path, clock: StageClock):
    """TRL's trainer for ``algorithm`` with the shared settings, its methods wrapped by ``clock``."""
    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from pro_rl.data.canonical import load_prompts
    from pro_rl.data.formats import render_prompt
    from pro_rl.data.toy_world import shipped_dir

    # the file the tiny config's data.prompts (${toy_world:prompts}) names
    prompts = [render_prompt(p) for p in load_prompts(str(shipped_dir() / "prompts.jsonl"))["prompt"]]
    common = dict(model=AutoModelForCausalLM.from_pretrained(model_dir), reward_funcs=trl_reward_functions(),
                  train_dataset=Dataset.from_dict({"prompt": prompts}),
                  processing_class=AutoTokenizer.from_pretrained(model_dir), callbacks=[clock.callback()])
    shared = dict(
        output_dir=str(workdir), max_steps=steps, learning_rate=LEARNING_RATE, lr_scheduler_type="constant",
        warmup_steps=0, weight_decay=0.0, max_grad_norm=1.0, optim="adamw_torch", gradient_accumulation_steps=1,
        bf16=False, fp16=False, use_cpu=True, gradient_checkpointing=False, disable_dropout=True,
        temperature=TEMPERATURE, top_p=1.0, top_k=0, use_vllm=False,
        reward_weights=[1.0 / len(REWARD_FUNCTIONS)] * len(REWARD_FUNCTIONS),
        report_to="none", logging_steps=steps, save_strategy="no", eval_strategy="no", disable_tqdm=True,
        dataloader_num_workers=0, seed=0,
    )
    no_grad_forward = lambda _: None if torch.is_grad_enabled() else "reference"  # noqa: E731
    if algorithm == "rloo":
        from trl import RLOOConfig, RLOOTrainer

        args = RLOOConfig(**shared, per_device_train_batch_size=PROMPTS_PER_STEP * SAMPLES_PER_PROMPT["rloo"],
                          num_generations=SAMPLES_PER_PROMPT["rloo"], max_completion_length=MAX_NEW_TOKENS,
                          beta=KL_COEF, epsilon=CLIP_EPS, num_iterations=1)
        trainer = RLOOTrainer(args=args, **common)
        clock.wrap(trainer, "_generate",  # returns (prompt ids, completion ids, completions)
                   lambda result: clock.generated(statistics.mean(len(ids) for ids in result[1])))
        clock.wrap(trainer, "_calculate_rewards", lambda _: "score")
        clock.wrap(trainer, "_get_per_token_logps_and_entropies", no_grad_forward)
        return trainer
    from trl.experimental.online_dpo import OnlineDPOConfig, OnlineDPOTrainer

    args = OnlineDPOConfig(**shared, per_device_train_batch_size=PROMPTS_PER_STEP, max_new_tokens=MAX_NEW_TOKENS,
                           beta=[DPO_BETA], loss_type="sigmoid")
    trainer = OnlineDPOTrainer(args=args, **common)
    clock.wrap(trainer, "_generate",  # returns (prompt ids, prompt mask, completion ids, completion mask, ...)
               lambda result: clock.generated(float(result[3].sum(dim=1).float().mean())))
    clock.wrap(trainer, "_calculate_rewards_from_functions", lambda _: "score")
    clock.wrap(trainer, "_forward", no_grad_forward)
    return trainer


def run_trl(algorithm: str, model_dir: Path, steps: int, warmup: int, workdir: Path, threads: int = 1) -> dict:
    """One TRL run in this process with ``threads`` torch threads (ours: one per actor, see the README)."""
    import torch

    torch.set_num_threads(threads)
    clock = StageClock()
    trainer = trl_trainer(algorithm, model_dir, steps, workdir, clock)
    load = load_average()
    began = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - began
    cpu_per_step, window_wall_per_step = clock.per_step(warmup)
    return {
        "load_before": load, "load_after": load_average(), "run_wall_s": wall, "steps": len(clock.step_seconds),
        "cpu_s_per_step": cpu_per_step, "window_wall_s_per_step": window_wall_per_step,
        "torch_threads": torch.get_num_threads(), "step_s": clock.step_seconds,
        "median_step_s": median_after_warmup(clock.step_seconds, warmup),
        "median_stage_s": {name: median_after_warmup([s[name] for s in clock.stage_seconds], warmup)
                           for name in STAGES},
        "mean_response_tokens": statistics.mean(clock.response_tokens[warmup:]),
    }


# --- one side in a subprocess, and the comparison ----------------------------------------------------------------

def run_side(args) -> None:
    workdir = Path(args.workdir)
    if args.side == "ours":
        output_dir = workdir / f"ours-{args.algorithm}"
        overrides = our_overrides(Path(args.model), output_dir, args.steps, args.algorithm,
                                  SAMPLES_PER_PROMPT[args.algorithm]) + function_rewards(REWARD_FUNCTIONS)
        result = run_ours(CONFIG, overrides, output_dir, args.warmup)
    else:
        result = run_trl(args.algorithm, Path(args.model), args.steps, args.warmup, workdir / f"trl-{args.algorithm}",
                         args.trl_threads)
    Path(args.result).write_text(json.dumps(result, indent=2))


def spawn(side: str, algorithm: str, model_dir: Path, workdir: Path, round_index: int, args) -> dict:
    result_path = workdir / f"{side}-{algorithm}-{round_index}.json"
    command = [sys.executable, __file__, "--side", side, "--algorithm", algorithm, "--model", str(model_dir),
               "--workdir", str(workdir / f"round{round_index}"), "--result", str(result_path),
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
             f"commit: {info['commit']}; {args.rounds} round(s) of ours-then-TRL per algorithm, {args.steps} steps "
             f"per run, first {args.warmup} dropped; TRL torch threads {args.trl_threads}", "",
             "| algorithm | prompts x samples | round | ours s/step | TRL s/step | ours/TRL | "
             "ours CPU-s/step | TRL CPU-s/step | CPU ours/TRL | load before ours; TRL |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for algorithm, sides in results.items():
        batch = f"{PROMPTS_PER_STEP} x {SAMPLES_PER_PROMPT[algorithm]}"
        for index, (ours, trl) in enumerate(zip(sides["ours"], sides["trl"]), 1):
            lines.append(f"| {algorithm} | {batch} | {index} | {ours['median_step_s']:.3f} | "
                         f"{trl['median_step_s']:.3f} | {ours['median_step_s'] / trl['median_step_s']:.2f} | "
                         f"{ours['cpu_s_per_step']:.3f} | {trl['cpu_s_per_step']:.3f} | "
                         f"{ours['cpu_s_per_step'] / trl['cpu_s_per_step']:.2f} | "
                         f"{ours['load_before'].split()[0]}; {trl['load_before'].split()[0]} |")
        ours, trl = median_over_runs(sides["ours"], "median_step_s"), median_over_runs(sides["trl"], "median_step_s")
        ours_cpu = median_over_runs(sides["ours"], "cpu_s_per_step")
        trl_cpu = median_over_runs(sides["trl"], "cpu_s_per_step")
        lines.append(f"| **{algorithm}** | {batch} | all | **{ours:.3f}** | **{trl:.3f}** | **{ours / trl:.2f}** | "
                     f"**{ours_cpu:.3f}** | **{trl_cpu:.3f}** | **{ours_cpu / trl_cpu:.2f}** | |")
    lines += ["", "Stage medians (seconds; TRL's from wrappers around its generate / reward / no-grad log-prob "
              "methods, its update = the rest of the step):", "",
              "| algorithm | side | generate | score | reference | update | other | response tokens |",
              "|---|---|---|---|---|---|---|---|"]
    for algorithm, sides in results.items():
        for side in ("ours", "trl"):
            row = stage_row(sides[side])
            tokens = median_over_runs(sides[side], "mean_response_tokens")
            lines.append(f"| {algorithm} | {side} | " + " | ".join(f"{row[name]:.3f}" for name in row)
                         + f" | {tokens:.1f} |")
    lines += ["", "Ours, every stage (seconds, median over runs of the per-run medians):", ""]
    for algorithm, sides in results.items():
        names = sorted({name for run in sides["ours"] for name in run["median_stage_s"]})
        stages = ", ".join(f"{name} {statistics.median(run['median_stage_s'][name] for run in sides['ours']):.4f}"
                           for name in names)
        trip = median_over_runs(sides["ours"], "ray_round_trip_ms")
        lines.append(f"- {algorithm}: {stages}; empty Ray actor round trip {trip:.2f} ms")
    lines += ["", "Ours, CPU seconds per step by process (median over runs):", ""]
    for algorithm, sides in results.items():
        lines.append(f"- {algorithm}: {cpu_by_process(sides['ours'])}")
    return "\n".join(lines)


def cpu_by_process(runs: Sequence[dict], smallest: float = 0.001) -> str:
    """Each process name's CPU seconds per step (median over runs), largest first."""
    names = {name for run in runs for name in run["cpu_s_per_step_by_process"]}
    medians = {name: statistics.median(run["cpu_s_per_step_by_process"].get(name, 0.0) for run in runs)
               for name in names}
    return ", ".join(f"{name} {value:.3f}" for name, value in sorted(medians.items(), key=lambda item: -item[1])
                     if value >= smallest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="RL steps per run (the first --warmup are dropped)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2, help="ours-then-TRL pairs per algorithm")
    parser.add_argument("--algorithms", nargs="+", default=["rloo", "online_dpo"], choices=list(SAMPLES_PER_PROMPT))
    parser.add_argument("--trl-threads", type=int, default=1,
                        help="torch threads of the TRL process (ours: 1 per actor); 2 stalls on a loaded machine")
    parser.add_argument("--json", default="", help="also write all results to this JSON file")
    parser.add_argument("--side", choices=["ours", "trl"], help=argparse.SUPPRESS)
    parser.add_argument("--algorithm", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        run_side(args)
        return
    info = machine()
    results: Dict[str, Dict[str, List[dict]]] = {algorithm: {"ours": [], "trl": []} for algorithm in args.algorithms}
    with tempfile.TemporaryDirectory(prefix="bench-cpu-vs-trl-") as temporary:
        workdir = Path(temporary)
        model_dir = save_tiny_policy(workdir / "tiny-gpt2")
        for round_index in range(1, args.rounds + 1):
            for algorithm in args.algorithms:
                for side in ("ours", "trl"):
                    results[algorithm][side].append(spawn(side, algorithm, model_dir, workdir, round_index, args))
    info["load_average_at_end"] = load_average()
    print(report(results, info, args))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "results": results}, indent=2))


if __name__ == "__main__":
    main()
