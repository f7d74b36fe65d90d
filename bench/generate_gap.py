"""The hf generate gap (issue 17, item 4): our rollout engine's ``generate`` against TRL 1.16's, the same work timed
side by side in this process and inside Ray actors set up as ours are.

The work is that of ``bench.cpu_vs_trl``'s RLOO step: the saved ``tiny:gpt2`` policy, 8 toy-world prompts x 4
samples, 40 new tokens, temperature 1, top-p 1, no top-k, fp32, 1 torch thread. The calls, all on the same prompts
and seed in one repetition, in alternating order from one repetition to the next:

- ``ours``: ``HFRolloutEngine.generate`` as the rollout actor calls it (tokenise, left-pad, ``generate``, cut at eos,
  decode), with the engine's own draw (``pro_rl.rollout.hf.generate_sampling_kwargs``);
- ``ours, transformers draw``: the same engine with ``do_sample=True``, i.e. transformers' softmax and
  ``torch.multinomial``, the engine's sampling before the inverse-CDF draw;
- ``TRL``: ``RLOOTrainer._generate`` of TRL 1.16 (the trainer ``bench.trl_side`` builds, in training mode as during
  its steps) on the 32 prompts its sampler hands it, each prompt 4 times in a row. Skipped when TRL is not installed
  (``pip install trl==1.16.0``; a bench-only dependency).

Where they run: ``process`` is this process. ``actor`` is a Ray actor started as ours are (Ray's default worker
niceness, 15; ``actors.common.setup_actor_process`` with the rollout role's 0.5 CPU); ``actor, nice 0`` is the same
with ``RAY_worker_niceness=0`` in its runtime environment. ``round trip`` is the driver's wait for the actor's
``ours`` call: the call plus one Ray hop and its (de)serialisation. Per call: wall seconds and the CPU seconds of
the calling thread (``time.thread_time``); medians over ``--repetitions`` after one warm-up.
``pipeline`` is the RLOO pipeline of ``bench.cpu_vs_trl`` itself (``--pipeline-steps`` steps, the first 2 dropped):
a Ray worker setup hook (``record_generate_calls``) times every ``HFRolloutEngine.generate`` in its rollout actor,
beside the driver's ``time/generate_s`` (the call, the hop, the weights-version check); ``pipeline, nice 0`` runs
the same with ``RAY_worker_niceness=0`` for every worker. ``--burn N`` keeps N busy loops at niceness 0 running while
the actors and pipelines are timed: a shared machine, on purpose.

Run: ``python -m bench.generate_gap [--repetitions 15] [--pipeline-steps 20] [--burn 0] [--json gap.json]`` (3.5 min).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, List

import torch

from bench.measure import REPO, finish, machine, median_after_warmup
from bench.pipeline_side import (CONFIG, MAX_NEW_TOKENS, PROMPTS_PER_STEP, REWARD_FUNCTIONS, SAMPLES_PER_PROMPT,
                                 TEMPERATURE, function_rewards, our_overrides, save_tiny_policy)

SAMPLES = SAMPLES_PER_PROMPT["rloo"]
CALL_LOG_ENV = "GENERATE_GAP_CALL_LOG"
NICE_ZERO = {"RAY_worker_niceness": "0"}
WARMUP_STEPS = 2
PLACES = ["process", "actor", "actor, nice 0", "pipeline", "pipeline, nice 0"]


@contextmanager
def transformers_draw():
    """While inside, ``HFRolloutEngine`` samples with transformers' own draw (``do_sample=True``)."""
    from pro_rl.rollout import hf

    engine_kwargs = hf.generate_sampling_kwargs
    hf.generate_sampling_kwargs = lambda settings: dict(do_sample=True, temperature=settings.temperature,
                                                        top_p=settings.top_p, top_k=settings.top_k)
    try:
        yield
    finally:
        hf.generate_sampling_kwargs = engine_kwargs


def toy_prompts() -> List[str]:
    """The toy world's RL prompts, rendered as the pipeline and TRL's side of ``bench.cpu_vs_trl`` render them."""
    from pro_rl.data.canonical import load_prompts
    from pro_rl.data.formats import render_prompt
    from pro_rl.data.toy_world import shipped_dir

    return [render_prompt(p) for p in load_prompts(str(shipped_dir() / "prompts.jsonl"))["prompt"]]


def prompt_batch(prompts: List[str], repetition: int) -> List[str]:
    """The ``PROMPTS_PER_STEP`` prompts of one repetition (a different slice each time, as an RL step draws)."""
    start = (repetition * PROMPTS_PER_STEP) % (len(prompts) - PROMPTS_PER_STEP)
    return prompts[start:start + PROMPTS_PER_STEP]


class GenerateCalls:
    """The timed calls on one saved policy, built in the process that runs them."""

    def __init__(self, model_dir: str):
        from pro_rl.config.schema import PolicyConfig
        from pro_rl.models.builders import load_policy
        from pro_rl.rollout import HFRolloutEngine, SamplingSettings

        torch.set_num_threads(1)
        model, tokenizer = load_policy(model_dir, PolicyConfig(model="tiny:gpt2"))  # as the rollout actor loads it
        settings = SamplingSettings(temperature=TEMPERATURE, top_p=1.0, top_k=0, max_new_tokens=MAX_NEW_TOKENS)
        self.engine = HFRolloutEngine(model, tokenizer, settings)
        self.prompts = toy_prompts()
        self.calls: Dict[str, Callable[[List[str], int], object]] = {"ours": self.ours,
                                                                     "ours, transformers draw": self.ours_transformers}
        self.trainer = self._trl_trainer(model_dir)
        if self.trainer is not None:
            self.calls["TRL"] = self.trl

    @staticmethod
    def _trl_trainer(model_dir: str):
        if importlib.util.find_spec("trl") is None:
            return None
        from bench.trl_side import TrainerStepClock, trl_trainer

        trainer = trl_trainer("rloo", Path(model_dir), 1, Path(tempfile.mkdtemp(prefix="generate-gap-trl-")),
                              TrainerStepClock())
        trainer.model.train()  # the mode it generates in during training
        return trainer

    def ours(self, prompts: List[str], seed: int):
        return self.engine.generate(prompts, SAMPLES, seed)

    def ours_transformers(self, prompts: List[str], seed: int):
        with transformers_draw():
            return self.engine.generate(prompts, SAMPLES, seed)

    def trl(self, prompts: List[str], seed: int):
        torch.manual_seed(seed)
        return type(self.trainer)._generate(self.trainer, [p for p in prompts for _ in range(SAMPLES)])  # unwrapped

    def time_all(self, repetitions: int) -> Dict[str, Dict[str, List[float]]]:
        """{call: {"wall": [...], "cpu": [...]}} over ``repetitions`` after one untimed warm-up of each call."""
        names = list(self.calls)
        times = {name: {"wall": [], "cpu": []} for name in names}
        for repetition in range(-1, repetitions):
            prompts = prompt_batch(self.prompts, max(repetition, 0))
            for name in (names if repetition % 2 else names[::-1]):
                cpu, wall = time.thread_time(), time.perf_counter()
                self.calls[name](prompts, repetition)
                if repetition >= 0:
                    times[name]["wall"].append(time.perf_counter() - wall)
                    times[name]["cpu"].append(time.thread_time() - cpu)
        return times


def actor_times(model_dir: Path, repetitions: int, niceness_zero: bool) -> dict:
    """The per-call times inside a Ray actor, its niceness, and the driver's round-trip seconds of ``ours``."""
    import ray

    from actors.common import setup_actor_process

    @ray.remote(num_cpus=0.5)
    class GenerateTimer:
        def __init__(self, directory: str):
            setup_actor_process(0.5, 0.0)
            self.calls = GenerateCalls(directory)

        def niceness(self) -> int:
            return os.nice(0)

        def time_all(self, count: int):
            return self.calls.time_all(count)

        def ours(self, prompts: List[str], seed: int):
            return self.calls.ours(prompts, seed)

    options = {"runtime_env": {"env_vars": NICE_ZERO}} if niceness_zero else {}
    timer = GenerateTimer.options(**options).remote(str(model_dir))
    niceness = ray.get(timer.niceness.remote())
    times = ray.get(timer.time_all.remote(repetitions))
    prompts, round_trips = toy_prompts(), []
    for repetition in range(repetitions):
        began = time.perf_counter()
        ray.get(timer.ours.remote(prompt_batch(prompts, repetition), repetition))
        round_trips.append(time.perf_counter() - began)
    ray.kill(timer)
    return {"times": times, "niceness": niceness, "round_trips": round_trips}


def record_generate_calls() -> None:
    """Ray worker setup hook of the ``pipeline`` places: each ``HFRolloutEngine.generate`` in the worker appends its
    wall, thread-CPU and process-CPU seconds (the difference: Ray's core-worker threads) and the worker's niceness,
    as a JSON line, to the file ``$GENERATE_GAP_CALL_LOG``."""
    from pro_rl.rollout import hf

    untimed = hf.HFRolloutEngine.generate

    def timed(engine, *args, **kwargs):
        cpu, process_cpu, wall = time.thread_time(), time.process_time(), time.perf_counter()
        rollouts = untimed(engine, *args, **kwargs)
        row = {"wall": time.perf_counter() - wall, "cpu": time.thread_time() - cpu, "niceness": os.nice(0),
               "other_threads_cpu": time.process_time() - process_cpu - (time.thread_time() - cpu)}
        with open(os.environ[CALL_LOG_ENV], "a") as log:
            log.write(json.dumps(row) + "\n")
        return rollouts

    hf.HFRolloutEngine.generate = timed


def pipeline_times(model_dir: Path, workdir: Path, steps: int, niceness_zero: bool) -> dict:
    """One RLOO run of ``bench.cpu_vs_trl``'s pipeline on its own Ray cluster: the rollout actor's calls (timed by
    ``record_generate_calls``) and the driver's generate stage, after ``WARMUP_STEPS`` steps."""
    import pipelines
    import ray
    from pipelines.rl_stages import start_local_ray
    from pro_rl.training.metrics import read_metrics

    call_log = workdir / "calls.jsonl"
    env_vars = {CALL_LOG_ENV: str(call_log), "PYTHONPATH": str(REPO), **(NICE_ZERO if niceness_zero else {})}
    start_local_ray(num_cpus=2, include_dashboard=False, log_to_driver=True,
                    runtime_env={"worker_process_setup_hook": "bench.generate_gap.record_generate_calls",
                                 "env_vars": env_vars})
    try:
        pipelines.run(CONFIG, our_overrides(model_dir, workdir / "run", steps, "rloo", SAMPLES)
                      + function_rewards(REWARD_FUNCTIONS))
    finally:
        ray.shutdown()
    calls = [json.loads(line) for line in call_log.read_text().splitlines()][WARMUP_STEPS:]
    rows = [row for row in read_metrics(workdir / "run" / "metrics.jsonl") if "time/step_s" in row]
    actor_calls = {"wall": [call["wall"] for call in calls], "cpu": [call["cpu"] for call in calls]}
    return {"times": {"ours, in the rollout actor": actor_calls},
            "niceness": calls[0]["niceness"], "round_trips": [row["time/generate_s"] for row in rows[WARMUP_STEPS:]],
            "median_step_s": median_after_warmup([row["time/step_s"] for row in rows], WARMUP_STEPS),
            "other_threads_cpu": statistics.median(call["other_threads_cpu"] for call in calls)}


@contextmanager
def busy_loops(count: int):
    """``count`` processes spinning at niceness 0 while inside (stopped one by one, by their pid, on the way out)."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.terminate()
            loop.wait()


def summary(seconds: List[float]) -> str:
    return f"{statistics.median(seconds):.4f} [{min(seconds):.4f}–{max(seconds):.4f}]"


def report(results: Dict[str, dict], info: Dict[str, str], args) -> str:
    lines = [f"machine: `{info['uname']}`; nproc {info['nproc']}; commit {info['commit']}",
             f"load average at start {info['load_average']}, at end {info['load_average_at_end']}; "
             f"{args.repetitions} repetitions after one warm-up, pipelines of {args.pipeline_steps} steps (first "
             f"{WARMUP_STEPS} dropped); {args.burn} busy loop(s) at niceness 0 during the actor and pipeline runs", "",
             "| where | niceness | call | wall s, median [min–max] | CPU s, median [min–max] | "
             "wall / TRL's wall | CPU / TRL's CPU |", "|---|---|---|---|---|---|---|"]
    for where, result in results.items():
        trl = result["times"].get("TRL")
        for call, times in result["times"].items():
            ratios = ("| — | — |" if trl is None else
                      f"| {statistics.median(times['wall']) / statistics.median(trl['wall']):.2f} | "
                      f"{statistics.median(times['cpu']) / statistics.median(trl['cpu']):.2f} |")
            lines.append(f"| {where} | {result['niceness']} | {call} | {summary(times['wall'])} | "
                         f"{summary(times['cpu'])} {ratios}")
        if result.get("round_trips"):
            waited = "driver's generate stage" if where.startswith("pipeline") else "driver round trip"
            lines.append(f"| {where} | {result['niceness']} | ours, {waited} | {summary(result['round_trips'])} "
                         "| | | |")
    lines += [f"- {where}: median step {result['median_step_s']:.4f} s; CPU of the rollout actor's other threads "
              f"during a call {result['other_threads_cpu']:.4f} s" for where, result in results.items()
              if "median_step_s" in result]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.generate_gap", description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=15, help="timed calls of each kind per place")
    parser.add_argument("--pipeline-steps", type=int, default=20, help="RL steps of each pipeline place")
    parser.add_argument("--burn", type=int, default=0, help="busy loops at niceness 0 while actors are timed")
    parser.add_argument("--places", nargs="+", default=PLACES, choices=PLACES)
    parser.add_argument("--json", default="", help="also write the raw times to this JSON file")
    args = parser.parse_args()
    info = machine()
    results: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="generate-gap-") as temporary:
        model_dir = save_tiny_policy(Path(temporary) / "tiny-gpt2")
        if "process" in args.places:
            results["process"] = {"times": GenerateCalls(str(model_dir)).time_all(args.repetitions),
                                  "niceness": os.nice(0)}
        with busy_loops(args.burn):
            actor_places = [place for place in args.places if place.startswith("actor")]
            if actor_places:
                import ray
                from pipelines.rl_stages import start_local_ray

                start_local_ray(num_cpus=2, include_dashboard=False, log_to_driver=True)
                for place in actor_places:
                    results[place] = actor_times(model_dir, args.repetitions, place.endswith("nice 0"))
                ray.shutdown()
            for place in [place for place in args.places if place.startswith("pipeline")]:
                workdir = Path(temporary) / place.replace(", ", "-").replace(" ", "")
                results[place] = pipeline_times(model_dir, workdir, args.pipeline_steps, place.endswith("nice 0"))
    finish(info, lambda: report(results, info, args), args.json, results)


if __name__ == "__main__":
    main()
