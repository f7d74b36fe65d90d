"""TRL's side of ``bench.cpu_vs_trl``: ``RLOOTrainer`` / ``experimental.online_dpo.OnlineDPOTrainer`` of TRL 1.16 in
one process (no Ray, no hops), transformers ``generate`` (``use_vllm=False``), with the settings of
``bench.pipeline_side``.

Step times come from a ``TrainerCallback`` (``on_step_begin`` → ``on_step_end``); the stage split from a
``pro_rl.training.metrics.StageTimer`` around the trainer's generate, reward and no-grad log-prob methods, the update
being the rest of the step (policy forward, backward, optimizer). TRL is a bench-only dependency
(``pip install trl==1.16.0``) and is imported only when a TRL run starts.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

from bench.measure import load_average, median_after_warmup
from bench.pipeline_side import (CLIP_EPS, DPO_BETA, KL_COEF, LEARNING_RATE, MAX_NEW_TOKENS, PROMPTS_PER_STEP,
                                 REWARD_FUNCTIONS, SAMPLES_PER_PROMPT, TEMPERATURE)
from pro_rl.training.metrics import StageTimer

STAGES = ("generate", "score", "reference", "update")


def trl_reward_functions():
    """The toy world's reward functions with TRL's calling convention (prompts=, completions=, **kwargs)."""
    from pro_rl.data import toy_world

    def wrap(function):
        def reward(prompts, completions, **_):
            return function(prompts, completions)

        reward.__name__ = function.__name__
        return reward

    return [wrap(getattr(toy_world, f"{name}_reward")) for name in REWARD_FUNCTIONS]


class TrainerStepClock:
    """Per TRL step: wall seconds (``on_step_begin`` → ``on_step_end``), seconds per stage (a ``StageTimer`` around
    wrapped trainer methods), process CPU seconds at each step end, and the mean response length generated."""

    def __init__(self):
        self.timer = StageTimer()
        self.step_seconds: List[float] = []
        self.stage_seconds: List[Dict[str, float]] = []
        self.response_tokens: List[float] = []
        self.step_end_clocks: List[tuple[float, float]] = []  # (process CPU seconds, wall clock) at each step end

    def callback(self):
        from transformers import TrainerCallback

        clock = self

        class StepTimer(TrainerCallback):
            def on_step_begin(self, args, state, control, **kwargs):
                clock.timer.start_step()

            def on_step_end(self, args, state, control, **kwargs):
                clock.end_step()

        return StepTimer()

    def end_step(self) -> None:
        seconds = self.timer.metrics()["time/step_s"]
        self.step_seconds.append(seconds)
        self.step_end_clocks.append((time.process_time(), time.perf_counter()))
        measured = {name: self.timer.seconds.get(name, 0.0) for name in STAGES[:-1]}
        measured["update"] = seconds - sum(measured.values())  # policy forward, backward, optimizer
        self.stage_seconds.append(measured)

    def per_step(self, warmup: int) -> tuple[float, float]:
        """(CPU seconds of this process, wall seconds) per step from the end of step ``warmup`` to the last."""
        first = max(warmup, 1)  # the window starts at a step end
        if len(self.step_end_clocks) <= first:
            return float("nan"), float("nan")
        (cpu0, wall0), (cpu1, wall1) = self.step_end_clocks[first - 1], self.step_end_clocks[-1]
        steps = len(self.step_end_clocks) - first
        return (cpu1 - cpu0) / steps, (wall1 - wall0) / steps

    def wrap(self, trainer, method: str, stage: Callable[[], Optional[str]],
             on_result: Optional[Callable] = None) -> None:
        """Time ``trainer.<method>`` as the stage ``stage()`` names at call time (None: not a separate stage);
        ``on_result(result)`` sees what it returned."""
        original = getattr(trainer, method)

        def timed(*args, **kwargs):
            name = stage()
            if name is None:
                return original(*args, **kwargs)
            with self.timer.stage(name):
                result = original(*args, **kwargs)
            if on_result is not None:
                on_result(result)
            return result

        setattr(trainer, method, timed)


def trl_trainer(algorithm: str, model_dir: Path, steps: int, workdir: Path, clock: TrainerStepClock):
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
    no_grad_forward = lambda: None if torch.is_grad_enabled() else "reference"  # noqa: E731
    if algorithm == "rloo":
        from trl import RLOOConfig, RLOOTrainer

        args = RLOOConfig(**shared, per_device_train_batch_size=PROMPTS_PER_STEP * SAMPLES_PER_PROMPT["rloo"],
                          num_generations=SAMPLES_PER_PROMPT["rloo"], max_completion_length=MAX_NEW_TOKENS,
                          beta=KL_COEF, epsilon=CLIP_EPS, num_iterations=1)
        trainer = RLOOTrainer(args=args, **common)
        clock.wrap(trainer, "_generate", lambda: "generate",  # returns (prompt ids, completion ids, completions)
                   lambda result: clock.response_tokens.append(statistics.mean(len(ids) for ids in result[1])))
        clock.wrap(trainer, "_calculate_rewards", lambda: "score")
        clock.wrap(trainer, "_get_per_token_logps_and_entropies", no_grad_forward)
        return trainer
    from trl.experimental.online_dpo import OnlineDPOConfig, OnlineDPOTrainer

    args = OnlineDPOConfig(**shared, per_device_train_batch_size=PROMPTS_PER_STEP, max_new_tokens=MAX_NEW_TOKENS,
                           beta=[DPO_BETA], loss_type="sigmoid")
    trainer = OnlineDPOTrainer(args=args, **common)
    clock.wrap(trainer, "_generate", lambda: "generate",  # returns (prompt ids, prompt mask, completion ids, mask, ...)
               lambda result: clock.response_tokens.append(float(result[3].sum(dim=1).float().mean())))
    clock.wrap(trainer, "_calculate_rewards_from_functions", lambda: "score")
    clock.wrap(trainer, "_forward", no_grad_forward)
    return trainer


def run_trl(algorithm: str, model_dir: Path, steps: int, warmup: int, workdir: Path, threads: int = 1) -> dict:
    """One TRL run in this process with ``threads`` torch threads (ours: one per actor, see the README)."""
    import torch

    torch.set_num_threads(threads)
    clock = TrainerStepClock()
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
