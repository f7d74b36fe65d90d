"""The batch of one RL step on its way from the prompts to the rollouts, and one-step off-policy pipelining.

A ``StepBatch`` holds a step's prompt indices, its conditioned prompts, the orchestrator's weights under way and
its generation under way (``pipelines.rl_generation``). With ``algorithm.off_policy_steps: 0`` the loop submits a
step's batch at the start of that step and waits for it at once. With ``1`` it submits batch t+1 right after batch
t's rollouts arrived, so the engines sample t+1 with the weights of version t while the policy trains on batch t;
the sync after the update waits for that generation (an actor runs one caller's calls in order) and then gives the
engines version t+1. Batch t is thus sampled by version t-1 and trained at version t: one update of lag (none for
the first batch of a run or of a resume), which ``check_lag`` enforces at every step.

The importance ratios of RLOO and PPO then need the log-probs of the weights that sampled (the behaviour policy),
not the policy's current ones; the engines return them with the rollouts (``behaviour_logprobs=True``: the hf
engine runs the trainer's own ``response_logprobs`` on its copy of the weights, vLLM reports the sampled tokens'
log-probs after the temperature). The loop uses them as ``Experience.old_logprobs`` and skips the old-policy pass.
This is the decoupled form of PPO's objective with the behaviour policy as the proximal one: the ratio
π_θ / π_behaviour is clipped around 1, as one-step off-policy recipes do (verl's, OpenRLHF's asynchronous mode).

A checkpoint taken while batch t+1 is in flight stores its rollouts (with their log-probs and weights version) in
``in_flight_batch.json``, since the weights that sampled them are gone after the update: a resumed run trains on
exactly that batch, as an uninterrupted one would.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import ray

from pipelines import rl_generation
from pipelines import rl_stages as stages
from pro_rl.rollout import Rollouts
from pro_rl.training.loop import batch_indices

IN_FLIGHT_FILE = "in_flight_batch.json"


def step_seed(config, step: int) -> int:
    """The seed of a step's generation and update (mini-batch order)."""
    return config.run.seed * 1_000_003 + step


@dataclass
class StepBatch:
    """A step's prompts and what is under way for them; ``rollouts`` once collected (or restored)."""

    step: int
    indices: List[int]
    prompts: List[str]  # as conditioned by the reward source (e.g. MOSLIM's tags)
    pending_weights: object
    generation: Optional[rl_generation.PendingRollouts] = None
    rollouts: Optional[Rollouts] = None
    behaviour_version: int = -1  # the weights version that sampled ``rollouts``


def select_prompts(config, roles, prompts: List[str], step: int) -> Tuple[List[int], List[str]]:
    """The indices of a step's prompts (a pure function of seed and step) and the prompts as conditioned."""
    indices = batch_indices(len(prompts), config.algorithm.prompt_batch_size, step, config.run.seed)
    return indices, roles.reward_source.condition_prompts([prompts[i] for i in indices], step_seed(config, step))


def submit_batch(config, roles, prompts: List[str], step: int, version: int, behaviour_logprobs: bool) -> StepBatch:
    """Ask for step ``step``'s weights and start its generation on engines holding weights ``version``."""
    indices, batch = select_prompts(config, roles, prompts, step)
    pending_weights = stages.submit_prompt_weights(config, roles.orchestrator, batch)
    generation = rl_generation.submit_generation(roles, batch, config.rollout.num_samples, step_seed(config, step),
                                                 version, behaviour_logprobs)
    return StepBatch(step, indices, batch, pending_weights, generation)


def finish_batch(roles, batch: StepBatch, current_version: int) -> Rollouts:
    """Wait for the batch's rollouts (once; later calls return them). An engine that restarted meanwhile is
    re-synced and the batch sampled again with the weights ``current_version``."""
    if batch.rollouts is None:
        batch.rollouts, batch.behaviour_version = rl_generation.collect_generation(roles, batch.generation,
                                                                                   current_version)
    return batch.rollouts


def wait_for_generation(batch: Optional[StepBatch]) -> None:
    """Block until the batch's generation has finished (its results stay in the object store)."""
    if batch is not None and batch.rollouts is None:
        ray.wait(batch.generation.parts, num_returns=len(batch.generation.parts))


def check_lag(step: int, behaviour_version: int, off_policy_steps: int) -> int:
    """The number of updates between the weights that sampled step ``step``'s batch and the policy it trains;
    raises when it is negative or more than ``algorithm.off_policy_steps``."""
    lag = step - behaviour_version
    if not 0 <= lag <= off_policy_steps:
        raise RuntimeError(f"step {step} would train on rollouts sampled by weights version {behaviour_version}: "
                           f"{lag} updates of lag, but algorithm.off_policy_steps allows {off_policy_steps}")
    return lag


def save_in_flight(directory: Path, batch: StepBatch) -> None:
    """Write the collected rollouts of the batch in flight into a checkpoint directory."""
    record = {"step": batch.step, "behaviour_version": batch.behaviour_version, "rollouts": asdict(batch.rollouts)}
    (Path(directory) / IN_FLIGHT_FILE).write_text(json.dumps(record))


def restore_in_flight(config, roles, prompts: List[str], directory: Optional[Path], step: int) -> Optional[StepBatch]:
    """The batch in flight that a checkpoint stored for ``step``, its weights asked for again; ``None`` when the
    checkpoint has none (a synchronous run, or the last step)."""
    path = Path(directory) / IN_FLIGHT_FILE if directory is not None else None
    if path is None or not path.is_file():
        return None
    record = json.loads(path.read_text())
    if record["step"] != step:
        raise ValueError(f"{path} holds the batch of step {record['step']}, but the checkpoint resumes at step {step}")
    indices, batch = select_prompts(config, roles, prompts, step)
    rollouts = Rollouts(**record["rollouts"])
    if rollouts.prompts[::rollouts.num_samples] != batch:
        raise ValueError(f"{path} was sampled from other prompts than step {step}'s (was the prompt file changed?)")
    return StepBatch(step, indices, batch, stages.submit_prompt_weights(config, roles.orchestrator, batch),
                     rollouts=rollouts, behaviour_version=int(record["behaviour_version"]))
