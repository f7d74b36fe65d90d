"""The stages of one RL step (DESIGN.md "One RL step"), each a small function the driver calls by name.

The driver (``pipelines.pro_morlhf``) holds the data and the loop; these functions talk to the actors and call
``pro_rl`` for the math. The reward matrix R (B·n × K) stays a matrix until ``scalarise``. Nothing here depends on
the RL algorithm: the algorithm object (``pro_rl.rl``) builds and runs the update, the reward source maps the reward
actors' outputs to R, and the roles' ``WeightSync`` pushes weights.
"""

from __future__ import annotations

import logging
import math
import os
from typing import Dict, Optional, Sequence, Tuple

import ray
import torch

from pro_rl.algorithms import RunningNormaliser, scalarise, weight_entropy
from pro_rl.config.validation import ORCHESTRATOR_MODES
from pro_rl.rl import UpdateBatches
from pro_rl.rl.oracle_weights import oracle_weights
from pro_rl.rollout import Rollouts
from pipelines.rl_generation import push_weights

logger = logging.getLogger("pro_rl.pipeline")


LOOPBACK = "127.0.0.1"
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class BadRewardError(ValueError):
    """A reward that is NaN/inf (``algorithm.on_bad_reward: error``)."""


def connect_ray(config) -> None:
    """Join the cluster of ``ray job submit`` (``RAY_ADDRESS``) or ``resources.ray_address``, else start a local one.

    The local cluster is this run's own (``address="local"``, ``resources.num_cpus`` CPUs): a bare ``ray.init()``
    would join whatever cluster ``ray start`` last recorded on the machine, and fail there because ``num_cpus`` is
    given. ``resources.ray_address=auto`` joins that cluster on purpose. The local cluster listens on 127.0.0.1 only
    (``start_local_ray``).
    """
    if ray.is_initialized():
        return
    address = config.resources.ray_address or os.environ.get("RAY_ADDRESS")
    if address and address != "local":
        ray.init(address=address, log_to_driver=True)
    else:
        start_local_ray(num_cpus=config.resources.num_cpus or None, include_dashboard=False, log_to_driver=True)


def start_local_ray(**init_kwargs) -> None:
    """``ray.init(address="local")`` with every Ray process (GCS, raylet, workers, dashboard) bound to 127.0.0.1.

    Ray 2.60 has no public switch for this: ``_node_ip_address="127.0.0.1"`` alone is turned back into the machine's
    address. What makes Ray pick the loopback address is its single-machine mode, ``ray_constants.ENABLE_RAY_CLUSTER``
    false (the ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` setting, read when ``ray`` is imported): it is set for the
    driver and for the processes ``ray.init`` starts, then restored, so nothing else in this process changes.
    """
    from ray._private import ray_constants

    saved_flag, saved_env = ray_constants.ENABLE_RAY_CLUSTER, os.environ.get(LOCAL_ONLY_ENV)
    ray_constants.ENABLE_RAY_CLUSTER = False
    os.environ[LOCAL_ONLY_ENV] = "0"
    try:
        ray.init(address="local", _node_ip_address=LOOPBACK, dashboard_host=LOOPBACK, **init_kwargs)
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop(LOCAL_ONLY_ENV, None)
        else:
            os.environ[LOCAL_ONLY_ENV] = saved_env


# --- 1. weights ---------------------------------------------------------------------------------------------------

def submit_prompt_weights(config, orchestrator, prompts: Sequence[str]):
    """The orchestrator's call for ``prompts``, under way (None when the weights do not come from it); the loop
    collects it after generation, which it overlaps."""
    return orchestrator.weights.remote(list(prompts)) if config.weights.mode in ORCHESTRATOR_MODES else None


def collect_prompt_weights(config, pending, prompts: Sequence[str], reward_source) -> torch.Tensor:
    """(B, K) weights per prompt: the orchestrator's f(x) (PRO; its answer to ``submit_prompt_weights``, also for
    the bag-of-words baseline it serves), the reward source's own (``weights.mode: reward_source``, e.g. MOSLIM's
    tags), the true w*(x) (``oracle``: ``weights.function``), or one fixed / uniform vector (MORLHF, eq. 5)."""
    num_prompts, k = len(prompts), len(reward_source.objectives)
    if config.weights.mode == "reward_source":
        return reward_source.prompt_weights(prompts).float()
    if config.weights.mode == "oracle":
        return oracle_weights(config.weights.function, prompts, reward_source.objectives).float()
    if pending is not None:
        weights = ray.get(pending).float()
        if weights.shape != (num_prompts, k):
            raise ValueError(f"orchestrator returned weights of shape {tuple(weights.shape)}, expected ({num_prompts}, {k})")
        return weights
    vector = torch.full((k,), 1.0 / k) if config.weights.mode == "uniform" else torch.tensor(config.weights.fixed)
    return vector.float().expand(num_prompts, k).clone()


# --- 3. score -----------------------------------------------------------------------------------------------------

def score(roles, rollouts: Rollouts, on_bad_reward: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """All reward actors at once → (reward matrix (N, K), valid (N,) bool); the roles' reward source maps the
    actors' outputs to R.

    A NaN/inf reward raises ``BadRewardError`` naming the objective and the count, or with ``on_bad_reward: skip``
    marks the sample invalid (each algorithm then leaves it out of its update, see ``pro_rl.rl``).
    """
    names = list(roles.rewards)
    outputs = ray.get([roles.rewards[name].score.remote(rollouts.prompts, rollouts.responses) for name in names])
    reward_matrix = roles.reward_source.reward_matrix(dict(zip(names, outputs)))
    finite = torch.isfinite(reward_matrix)
    objectives = roles.reward_source.objectives
    bad_counts = {name: int((~finite[:, k]).sum()) for k, name in enumerate(objectives)}
    bad = {name: count for name, count in bad_counts.items() if count}
    if bad and on_bad_reward == "error":
        detail = ", ".join(f"objective '{name}': {count} of {len(rollouts)}" for name, count in bad.items())
        raise BadRewardError(f"NaN/inf rewards ({detail}); set algorithm.on_bad_reward=skip to skip such samples")
    if bad:
        logger.warning("skipping samples with NaN/inf rewards: %s", bad)
    return reward_matrix, finite.all(dim=1)


# --- 4. reference and old log-probs (and values) ------------------------------------------------------------------

def submit_reference(roles, rollouts: Rollouts, with_old: bool) -> Dict[str, object]:
    """The reference pass, the policy's old log-probs (``with_old``: the algorithm's ``needs_old_logprobs``) and the
    critic's values (when the run has a critic), under way at once; the loop scores the rollouts meanwhile."""
    ids = (rollouts.prompt_ids, rollouts.response_ids)
    pending = {"reference": roles.reference.logprobs.remote(*ids)}
    if with_old:
        pending["old"] = roles.policy.logprobs.remote(*ids)
    if roles.critic is not None:
        pending["values"] = roles.critic.values.remote(*ids)
    return pending


def collect_reference(pending: Dict[str, object]) -> Tuple[torch.Tensor, Optional[torch.Tensor], Optional[torch.Tensor]]:
    """(reference log-probs, old log-probs or None, values or None) of ``submit_reference``."""
    results = dict(zip(pending, ray.get(list(pending.values()))))
    return results["reference"], results.get("old"), results.get("values")


# --- 5. scalarise -------------------------------------------------------------------------------------------------

def scalarise_rewards(config, reward_matrix: torch.Tensor, weights: torch.Tensor, valid: torch.Tensor,
                      normaliser: RunningNormaliser) -> torch.Tensor:
    """r = Σ_k w_k(x) R_k per sample (eq. 9), after the running per-objective z-score when configured.

    ``weights`` are per prompt (B, K) and repeat over the prompt's n samples. Invalid samples get 0 here and stay
    out of the normaliser's statistics; each algorithm leaves them out of its update.
    """
    samples = reward_matrix.shape[0] // weights.shape[0]
    rewards = torch.where(valid[:, None], reward_matrix, torch.zeros_like(reward_matrix))
    if config.algorithm.normalise_rewards:
        if valid.any():
            normaliser.update(rewards[valid])
        rewards = normaliser.normalise(rewards)
    scalarised = scalarise(rewards, weights.repeat_interleave(samples, dim=0))
    return torch.where(valid, scalarised, torch.zeros_like(scalarised))  # not the z-score of a placeholder 0


# --- 6. advantages (the algorithm's ``build_update``), 7. update, 8. sync --------------------------------------------

def update(roles, batches: UpdateBatches, seed: int) -> Dict[str, float]:
    """Policy (and critic) update on the algorithm's batches; vLLM engines on the policy's GPU sleep through it (the
    sync wakes them)."""
    put_rollout_engines_to_sleep(roles)
    calls = [roles.policy.update.remote(batches.policy, seed)]
    if batches.critic is not None:
        calls.append(roles.critic.update.remote(batches.critic, seed))
    stats: Dict[str, float] = {}
    for result in ray.get(calls):
        stats.update(result)
    return stats


def put_rollout_engines_to_sleep(roles) -> None:
    """vLLM engines in sleep mode release their KV cache and weights, so the update has the GPU's memory."""
    if roles.rollout_placement.sleep_mode:
        ray.get([actor.sleep.remote() for actor in roles.rollouts])


def sync_weights(roles, version: int) -> None:
    """Push the policy's weights to every rollout engine (the roles' ``WeightSync``); sleeping engines wake."""
    push_weights(roles, roles.rollouts, version)


# --- 9. log -------------------------------------------------------------------------------------------------------

def step_metrics(objectives: Sequence[str], reward_matrix: torch.Tensor, valid: torch.Tensor, weights: torch.Tensor,
                 scalarised: torch.Tensor, rollouts: Rollouts, counted: Optional[torch.Tensor] = None) -> Dict[str, float]:
    """Each objective's raw reward, the scalarised reward, weight statistics and response length.

    ``counted``: (B, K) bool per prompt, the objectives its reward counts (the reward source's ``objective_mask``);
    ``reward/<objective>/mean`` then averages over the valid samples of the prompts that count it (NaN when none
    does). None: every objective counts for every prompt.
    """
    values: Dict[str, float] = {}
    finite_rows = reward_matrix[valid] if valid.any() else reward_matrix.nan_to_num()
    if counted is not None:
        counted = counted.repeat_interleave(reward_matrix.shape[0] // counted.shape[0], dim=0) & valid[:, None]
    for k, name in enumerate(objectives):
        column = finite_rows[:, k] if counted is None else reward_matrix[counted[:, k], k]
        values[f"reward/{name}/mean"] = column.mean().item() if column.numel() else math.nan
        values[f"weights/{name}/mean"] = weights[:, k].mean().item()
        values[f"weights/{name}/std"] = weights[:, k].std().item() if weights.shape[0] > 1 else 0.0
    values["reward/total/mean"] = scalarised[valid].mean().item() if valid.any() else math.nan
    values["weights/entropy"] = weight_entropy(weights).mean().item()
    values["response/length"] = sum(len(ids) for ids in rollouts.response_ids) / max(len(rollouts), 1)
    values["reward/skipped"] = float((~valid).sum())
    return values
