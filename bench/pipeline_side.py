"""Our side of the CPU benchmarks: the RL pipeline (``pipelines.run`` on ``configs/tiny/pro_morlhf.yaml``) timed from
outside.

The settings both sides of ``bench.cpu_vs_trl`` share live here (the tiny config's values where it has one), with
the saved ``tiny:gpt2`` policy both load and the overrides that point the pipeline at it. ``run_ours`` runs one
pipeline while ``TreeCpuSampler`` samples the CPU seconds of the whole process tree (driver, Ray daemons, actors),
then reads per-step and per-stage times from the run's ``metrics.jsonl`` and measures an empty Ray actor round trip
on the same cluster. ``bench.k_scaling`` uses the same runner.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import List, Sequence

from bench.measure import REPO, TreeCpuSampler, load_average, median_after_warmup

CONFIG = REPO / "configs" / "tiny" / "pro_morlhf.yaml"
REWARD_FUNCTIONS = ("helpful", "harmless", "humor")

# Settings both sides share (the tiny config's values where it has one).
LEARNING_RATE = 3.0e-4
KL_COEF = 0.05
CLIP_EPS = 0.2
DPO_BETA = 0.1
TEMPERATURE = 1.0
MAX_NEW_TOKENS = 40
PROMPTS_PER_STEP = 8
SAMPLES_PER_PROMPT = {"rloo": 4, "online_dpo": 2}


def save_tiny_policy(directory: Path) -> Path:
    """``tiny:gpt2`` built from its config (random weights, tokenizer trained in code), saved for both sides."""
    from pro_rl.config.schema import PolicyConfig
    from pro_rl.models.builders import build_policy

    model, tokenizer = build_policy(PolicyConfig(model="tiny:gpt2"))
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


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
    """Overrides that make reward model i the toy world's ``<names[i]>_reward`` function."""
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
