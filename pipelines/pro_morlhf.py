"""PRO-MORLHF (PRO eq. 9) and the MORLHF baseline (eq. 5) on Ray actors: the single-controller RL loop.

Each step: weights → generate → score → reference → scalarise → advantages → update → sync → log (→ checkpoint).
``weights.mode: orchestrator`` takes per-prompt weights from the Preference Orchestrator; ``fixed`` / ``uniform``
use one vector for every prompt (MORLHF). ``algorithm.name`` picks RLOO, PPO or online DPO; everything else is the
same loop. The driver holds the prompts, the running normaliser and the KL controller; the actors hold the models.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Dict, Optional

import ray
import torch
from tqdm.auto import tqdm

from pipelines import RunResult
from pipelines import rl_stages as stages
from pro_rl.algorithms import RunningNormaliser
from pro_rl.config import ProRLConfig
from pro_rl.data.canonical import load_prompts
from pro_rl.data.formats import render_prompt
from pro_rl.training.checkpoint import atomic_checkpoint, latest_checkpoint, read_state, remove_partial
from pro_rl.training.loop import batch_indices
from pro_rl.training.metrics import MetricsLogger, StageTimer
from pro_rl.training.run_dir import prepare_run_dir

logger = logging.getLogger("pro_rl.pipeline")


def run(config: ProRLConfig) -> RunResult:
    output_dir = prepare_run_dir(config)
    prompts = [render_prompt(p) for p in load_prompts(config.data.prompts, on_bad_row=config.data.on_bad_row)["prompt"]]
    held_out_prompts, true_weights = held_out(config)
    orchestrator_path = config.orchestrator.path if config.weights.mode == "orchestrator" else ""
    if config.weights.mode == "orchestrator" and not orchestrator_path:
        raise ValueError("weights.mode is 'orchestrator' but orchestrator.path names no trained orchestrator")
    stages.connect_ray(config)
    roles = launch(config, orchestrator_path)
    try:
        metrics = train(config, roles, prompts, output_dir, held_out_prompts, true_weights)
    finally:
        roles.shutdown()
    return RunResult(output_dir=output_dir, metrics=metrics)


def launch(config, orchestrator_path: str):
    from actors.launch import launch_roles

    return launch_roles(config, config.policy.model, stages.rows_per_update(config), orchestrator_path)


def held_out(config):
    if not config.data.eval_prompts:
        return [], None
    rows = load_prompts(config.data.eval_prompts, on_bad_row=config.data.on_bad_row)
    prompts = [render_prompt(p) for p in rows["prompt"]]
    if "weights" not in rows.column_names:
        return prompts, None
    return prompts, torch.tensor([[w[name] for name in config.objectives] for w in rows["weights"]])


def train(config, roles, prompts, output_dir: Path, held_out_prompts, true_weights) -> Dict[str, float]:
    algorithm, n = config.algorithm, config.rollout.num_samples
    objectives = config.objectives
    state = stages.LoopState(0, RunningNormaliser(len(objectives)), stages.make_kl_controller(config))
    checkpoints = output_dir / "checkpoints"
    resume_from(config, roles, state, checkpoints)
    metrics = MetricsLogger(output_dir)
    metrics.truncate_after(state.step)
    stages.sync_weights(roles, state.step)
    if state.step == 0 and held_out_prompts:
        metrics.log(0, held_out_metrics(roles, held_out_prompts, true_weights, objectives, config.run.seed, 0))
    timer = StageTimer()
    bar = tqdm(total=algorithm.steps, initial=state.step, desc=config.run.name, disable=not config.run.progress)
    for step in range(state.step, algorithm.steps):
        timer.start_step()
        seed = config.run.seed * 1_000_003 + step
        indices = batch_indices(len(prompts), algorithm.prompt_batch_size, step, config.run.seed)
        batch = [prompts[i] for i in indices]
        # Stages overlap where their inputs allow: the orchestrator answers while the engines generate, and the
        # reference (and old-policy, critic) passes run while the reward models score; each stage's time is the wait
        # for its results.
        with timer.stage("weights"):
            pending_weights = stages.submit_prompt_weights(config, roles.orchestrator, batch)
        with timer.stage("generate"):
            rollouts = stages.generate(roles, batch, n, seed, version=step)
        with timer.stage("weights"):
            weights = stages.collect_prompt_weights(config, pending_weights, len(batch))
        with timer.stage("score"):
            pending_reference = stages.submit_reference(roles, rollouts, with_old=algorithm.name != "online_dpo")
            reward_matrix, valid = stages.score(roles.rewards, rollouts, algorithm.on_bad_reward)
        with timer.stage("reference"):
            ref_logprobs, old_logprobs, values = stages.collect_reference(pending_reference)
        with timer.stage("scalarise"):
            scalarised = stages.scalarise_rewards(config, reward_matrix, weights, valid, state.normaliser)
        with timer.stage("advantages"):
            policy_payload, critic_payload, advantage_stats = stages.build_update(
                config, rollouts, scalarised, valid, ref_logprobs, old_logprobs, values, state.kl_controller.value)
        with timer.stage("update"):  # vLLM engines on the policy's GPU sleep through it ...
            update_stats = stages.update(roles, policy_payload, critic_payload, seed)
        with timer.stage("sync"):  # ... and wake for the weight copy
            stages.sync_weights(roles, step + 1)
        state.step = step + 1
        state.skipped_samples += int((~valid).sum())
        kl_mean = advantage_stats.get("kl/mean", update_stats.get("kl/mean"))  # online DPO: from its update
        state.kl_controller.update(kl_mean, len(rollouts))
        with timer.stage("log"):
            values_to_log = {**stages.step_metrics(objectives, reward_matrix, valid, weights, scalarised, rollouts),
                             **advantage_stats, **update_stats, "kl/coef": state.kl_controller.value,
                             "data/first_prompt_index": indices[0]}
        if state.step % config.run.log_every == 0 or state.step == algorithm.steps:
            metrics.log(state.step, {**values_to_log, **timer.metrics()})
        if config.run.checkpoint_every and state.step % config.run.checkpoint_every == 0:
            save_checkpoint(config, roles, state, checkpoints)
        bar.set_postfix(reward=f"{values_to_log['reward/total/mean']:.3f}", kl=f"{kl_mean:.3f}")
        bar.update(1)
    bar.close()
    final = ray.get(roles.policy.save_pretrained.remote(str(output_dir / "final" / "policy")))
    logger.info("policy saved to %s", final)
    result = dict(metrics.last)
    if held_out_prompts:
        evaluation = held_out_metrics(roles, held_out_prompts, true_weights, objectives, config.run.seed, state.step)
        metrics.log(state.step, evaluation)
        result.update(evaluation)
    metrics.close()
    (output_dir / "final" / "trainer_state.json").write_text(json.dumps(state.state_dict(), indent=2))
    return result


def held_out_metrics(roles, prompts, true_weights, objectives, seed: int, version: int) -> Dict[str, float]:
    result = stages.evaluate_held_out(roles, prompts, true_weights, objectives, seed, version)
    values = {f"eval/reward/{name}/mean": value for name, value in result.per_objective.items()}
    if result.w_star is not None:
        values["eval/reward/w_star/mean"] = result.w_star
    return values


def save_checkpoint(config, roles, state: stages.LoopState, checkpoints: Path) -> None:
    """Policy (and critic) engine states plus the loop state, written atomically."""
    with atomic_checkpoint(checkpoints, state.step, state.state_dict(), config.run.keep_checkpoints) as directory:
        calls = [roles.policy.save_state.remote(str(directory))]
        if roles.critic is not None:
            calls.append(roles.critic.save_state.remote(str(directory)))
        ray.get(calls)


def resume_from(config, roles, state: stages.LoopState, checkpoints: Path) -> Optional[Path]:
    """With ``run.resume: auto``, restore the last complete checkpoint (half-written ones are removed)."""
    remove_partial(checkpoints)
    if config.run.resume != "auto":
        return None
    found = latest_checkpoint(checkpoints)
    if found is None:
        return None
    calls = [roles.policy.load_state.remote(str(found))]
    if roles.critic is not None:
        calls.append(roles.critic.load_state.remote(str(found)))
    ray.get(calls)
    state.load_state_dict(read_state(found))
    logger.info("resumed from %s at step %d", found, state.step)
    return found
