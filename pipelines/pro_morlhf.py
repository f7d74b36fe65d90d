"""PRO-MORLHF (PRO eq. 9) and the MORLHF baseline (eq. 5) on Ray actors: the single-controller RL loop.

Each step: weights → generate → score → reference → scalarise → advantages → update → sync → log (→ checkpoint).
``weights.mode: orchestrator`` takes per-prompt weights from the Preference Orchestrator (``bag_of_words`` from the
baseline saved beside it, ``oracle`` the true w*(x) of ``weights.function``); ``fixed`` / ``uniform`` use one vector
for every prompt (MORLHF). ``algorithm.name`` names a registered RL algorithm (``pro_rl.rl``: RLOO,
PPO, online DPO, or one of the user's) and ``algorithm.reward_source`` a registered reward source; the loop is the
same for all. The driver holds the prompts, the running normaliser and the KL controller; the actors hold the models.
The reward source may also check and condition the prompts, give the weights (``weights.mode: reward_source``), say
which objectives each prompt's reward counts, and keep state that is checkpointed with the loop's: that is how
MOSLIM (``pipelines.moslim``) runs through this same loop with its tags and one multi-head classifier.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import ray
from tqdm.auto import tqdm

from pipelines import RunResult
from pipelines import rl_batches, rl_generation
from pipelines import rl_stages as stages
from pipelines.rl_batches import StepBatch, finish_batch, submit_batch
from pipelines.held_out import held_out_metrics, load_held_out
from pro_rl.algorithms import AdaptiveKLController, FixedKLController, RunningNormaliser
from pro_rl.config import ProRLConfig
from pro_rl.config.validation import ORCHESTRATOR_MODES
from pro_rl.data.canonical import data_limits, load_prompts
from pro_rl.models.prompt_rendering import render_prompts
from pro_rl.rl import Experience, build_algorithm, build_reward_source
from pro_rl.training import interrupts
from pro_rl.training.checkpoint import atomic_checkpoint, latest_checkpoint, read_state, remove_partial
from pro_rl.training.metrics import MetricsLogger, StageTimer
from pro_rl.training.run_dir import check_run_dir, prepare_run_dir

logger = logging.getLogger("pro_rl.pipeline")


def run(config: ProRLConfig) -> RunResult:
    """Load and check every input (prompts, held-out prompts, registry names) before the run directory is touched,
    then start the actors and train."""
    check_run_dir(config)  # reads only: refuses a start that would mix with or destroy another run
    reward_source = build_reward_source(config.algorithm.reward_source, config)
    prompts = render_prompts(config, load_prompts(config.data.prompts, **data_limits(config.data))["prompt"])
    prompts = reward_source.check_prompts(prompts, config.data.prompts)  # e.g. MOSLIM's tags, parsed now
    held_out_prompts, true_weights = load_held_out(config)
    orchestrator_path = config.orchestrator.path if config.weights.mode in ORCHESTRATOR_MODES else ""
    if config.weights.mode in ORCHESTRATOR_MODES and not orchestrator_path:
        raise ValueError(f"weights.mode is '{config.weights.mode}' but orchestrator.path names no trained orchestrator")
    algorithm = build_algorithm(config.algorithm.name)
    output_dir = prepare_run_dir(config)  # only once every input has loaded
    stages.connect_ray(config)
    with interrupts.handling_signals(output_dir):
        roles = launch(config, algorithm, reward_source, orchestrator_path)
        try:
            metrics = train(config, roles, algorithm, prompts, output_dir, held_out_prompts, true_weights)
        finally:
            roles.shutdown()
    return RunResult(output_dir=output_dir, metrics=metrics)


def launch(config, algorithm, reward_source, orchestrator_path: str):
    from actors.launch import launch_roles

    return launch_roles(config, config.policy.model, algorithm, reward_source, orchestrator_path)


def make_kl_controller(config):
    """β of the KL penalty: fixed, or adaptive (Ziegler et al.) following ``kl/seq_mean`` towards ``target_kl``."""
    algorithm = config.algorithm
    if algorithm.adaptive_kl:
        return AdaptiveKLController(algorithm.kl_coef, algorithm.target_kl, algorithm.kl_horizon)
    return FixedKLController(algorithm.kl_coef)


@dataclass
class LoopState:
    """What a checkpoint must restore besides the models: step, normaliser, KL controller and the reward source's
    state (e.g. MOSLIM's running statistics per head and intensity; empty for ``reward_models``)."""

    step: int
    normaliser: RunningNormaliser
    kl_controller: object
    skipped_samples: int = 0
    reward_source: Optional[object] = None  # ``pro_rl.rl.RewardSource``

    def state_dict(self) -> dict:
        return {"step": self.step, "normaliser": self.normaliser.state_dict(),
                "kl_controller": self.kl_controller.state_dict(), "skipped_samples": self.skipped_samples,
                "reward_source": self.reward_source.state_dict() if self.reward_source is not None else {}}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.normaliser.load_state_dict(state["normaliser"])
        self.kl_controller.load_state_dict(state["kl_controller"])
        self.skipped_samples = int(state.get("skipped_samples", 0))
        if self.reward_source is not None:
            self.reward_source.load_state_dict(state.get("reward_source", {}))


def train(config, roles, algorithm, prompts, output_dir: Path, held_out_prompts, true_weights) -> Dict[str, float]:
    objectives, steps = roles.reward_source.objectives, config.algorithm.steps
    state = LoopState(0, RunningNormaliser(len(objectives)), make_kl_controller(config),
                      reward_source=roles.reward_source)
    checkpoints = output_dir / "checkpoints"
    found = resume_from(config, roles, state, checkpoints)
    metrics = MetricsLogger(output_dir, config=config)
    metrics.truncate_after(state.step)
    stages.sync_weights(roles, state.step)
    if state.step == 0 and held_out_prompts:
        metrics.log(0, held_out_metrics(roles, held_out_prompts, true_weights, objectives, config.run.seed, 0))
    in_flight = rl_batches.restore_in_flight(config, roles, prompts, found, state.step)
    bar = tqdm(total=steps, initial=state.step, desc=config.run.name, disable=not config.run.progress)
    for step in range(state.step, steps):
        values_to_log, in_flight = rl_step(config, roles, algorithm, prompts, state, step, in_flight)
        if state.step % config.run.log_every == 0 or state.step == steps:
            metrics.log(state.step, values_to_log)
        due = config.run.checkpoint_every and state.step % config.run.checkpoint_every == 0
        if due or interrupts.requested():  # Ctrl-C / SIGTERM: a checkpoint of this step, then stop
            save_checkpoint(config, roles, state, checkpoints, in_flight)
        bar.set_postfix(reward=f"{values_to_log['reward/total/mean']:.3f}", kl=f"{values_to_log['kl/mean']:.3f}")
        bar.update(1)
        if interrupts.requested():
            bar.close()
            metrics.close()
            raise interrupts.interrupted(state.step)
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


def rl_step(config, roles, algorithm, prompts, state: LoopState, step: int,
            in_flight: Optional[StepBatch]) -> Tuple[Dict[str, float], Optional[StepBatch]]:
    """One RL step, its stages timed; advances ``state`` and returns the step's metrics and the next step's batch
    when it is already under way (``algorithm.off_policy_steps: 1``, see ``pipelines.rl_batches``).

    Stages overlap where their inputs allow: the orchestrator answers while the engines generate, and the reference
    (and old-policy, critic) passes run while the reward models score; each stage's time is the wait for its results.
    With off-policy steps the next batch generates while this one is scored and trained; "generate" is then the
    wait for it that the update did not hide.
    """
    timer = StageTimer()
    timer.start_step()
    seed, overlap = rl_batches.step_seed(config, step), config.algorithm.off_policy_steps > 0
    behaviour = overlap and algorithm.needs_old_logprobs  # the engines' log-probs stand for the old policy's
    with timer.stage("generate"):
        current = in_flight or submit_batch(config, roles, prompts, step, step, behaviour)
        rollouts = finish_batch(roles, current, current_version=step)
    lag = rl_batches.check_lag(step, current.behaviour_version, config.algorithm.off_policy_steps)
    upcoming = None  # off-policy: the next batch, sampled by this step's weights while they train
    if overlap and step + 1 < config.algorithm.steps:
        upcoming = submit_batch(config, roles, prompts, step + 1, step, behaviour)
    batch = current.prompts
    with timer.stage("weights"):
        weights = stages.collect_prompt_weights(config, current.pending_weights, batch, roles.reward_source)
    with timer.stage("score"):
        pending_reference = stages.submit_reference(roles, rollouts, with_old=algorithm.needs_old_logprobs
                                                    and not behaviour)
        reward_matrix, valid = stages.score(roles, rollouts, config.algorithm.on_bad_reward)
    with timer.stage("reference"):
        ref_logprobs, old_logprobs, values = stages.collect_reference(pending_reference)
        if behaviour:
            old_logprobs = rl_generation.behaviour_logprobs(rollouts)
    with timer.stage("scalarise"):
        scalarised = stages.scalarise_rewards(config, reward_matrix, weights, valid, state.normaliser)
    with timer.stage("advantages"):
        experience = Experience(rollouts, scalarised, valid, ref_logprobs, old_logprobs, values)
        batches = algorithm.build_update(experience, config, state.kl_controller.value)
    with timer.stage("update"):  # vLLM engines on the policy's GPU sleep through it ...
        update_stats = stages.update(roles, batches, seed)
    with timer.stage("generate"):  # the next batch's generation, where the update did not hide it
        rl_batches.wait_for_generation(upcoming)
    with timer.stage("sync"):  # ... and wake for the weight copy
        stages.sync_weights(roles, step + 1)
    state.step = step + 1
    state.skipped_samples += int((~valid).sum())
    kl_stats = {**update_stats, **batches.stats}  # online DPO measures its KL in the update's forward passes
    state.kl_controller.update(kl_stats["kl/mean"], len(rollouts))
    with timer.stage("log"):
        counted = roles.reward_source.objective_mask(batch)  # None: every objective counts for every prompt
        values_to_log = {**stages.step_metrics(roles.reward_source.objectives, reward_matrix, valid, weights,
                                               scalarised, rollouts, counted),
                         **roles.reward_source.step_metrics(), **batches.stats, **update_stats,
                         "kl/coef": state.kl_controller.value, "rollout/policy_lag": float(lag),
                         "data/first_prompt_index": current.indices[0]}
    return {**values_to_log, **timer.metrics()}, upcoming


def save_checkpoint(config, roles, state: LoopState, checkpoints: Path, in_flight: Optional[StepBatch] = None) -> None:
    """Policy (and critic) engine states plus the loop state, written atomically; with a batch in flight, its
    rollouts too (``pipelines.rl_batches``)."""
    with atomic_checkpoint(checkpoints, state.step, state.state_dict(), config.run.keep_checkpoints) as directory:
        calls = [roles.policy.save_state.remote(str(directory))]
        if roles.critic is not None:
            calls.append(roles.critic.save_state.remote(str(directory)))
        if in_flight is not None:
            finish_batch(roles, in_flight, current_version=state.step)
            rl_batches.save_in_flight(directory, in_flight)
        ray.get(calls)


def resume_from(config, roles, state: LoopState, checkpoints: Path) -> Optional[Path]:
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
