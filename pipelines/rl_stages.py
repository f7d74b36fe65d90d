"""The stages of one RL step (DESIGN.md "One RL step"), each a small function the driver calls by name.

The driver (``pipelines.pro_morlhf``) holds the data and the loop; these functions talk to the actors and call
``pro_rl`` for the math. The reward matrix R (B·n × K) stays a matrix until ``scalarise``.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import ray
import torch

from pro_rl.algorithms import AdaptiveKLController, FixedKLController, RunningNormaliser, scalarise, sum_masked
from pro_rl.rollout import Rollouts
from pro_rl.rollout.weight_sync import weight_transport
from pro_rl.training import rl_advantages

logger = logging.getLogger("pro_rl.pipeline")


class BadRewardError(ValueError):
    """A reward that is NaN/inf (``algorithm.on_bad_reward: error``)."""


def connect_ray(config) -> None:
    """Join the cluster of ``ray job submit`` (``RAY_ADDRESS``) or ``resources.ray_address``, else start a local one.

    The local cluster is this run's own (``address="local"``, ``resources.num_cpus`` CPUs): a bare ``ray.init()``
    would join whatever cluster ``ray start`` last recorded on the machine, and fail there because ``num_cpus`` is
    given. ``resources.ray_address=auto`` joins that cluster on purpose.
    """
    if ray.is_initialized():
        return
    address = config.resources.ray_address or os.environ.get("RAY_ADDRESS")
    if address and address != "local":
        ray.init(address=address, log_to_driver=True)
    else:
        ray.init(address="local", num_cpus=config.resources.num_cpus or None, include_dashboard=False,
                 log_to_driver=True)


def rows_per_update(config) -> int:
    """Rows of one policy update: sequences for RLOO/PPO, pairs for online DPO."""
    prompts = config.algorithm.prompt_batch_size
    return prompts if config.algorithm.name == "online_dpo" else prompts * config.rollout.num_samples


def make_kl_controller(config):
    algorithm = config.algorithm
    if algorithm.adaptive_kl:
        return AdaptiveKLController(algorithm.kl_coef, algorithm.target_kl, algorithm.kl_horizon)
    return FixedKLController(algorithm.kl_coef)


@dataclass
class LoopState:
    """What a checkpoint must restore besides the models: step, normaliser and KL controller."""

    step: int
    normaliser: RunningNormaliser
    kl_controller: object
    skipped_samples: int = 0

    def state_dict(self) -> dict:
        return {"step": self.step, "normaliser": self.normaliser.state_dict(),
                "kl_controller": self.kl_controller.state_dict(), "skipped_samples": self.skipped_samples}

    def load_state_dict(self, state: dict) -> None:
        self.step = int(state["step"])
        self.normaliser.load_state_dict(state["normaliser"])
        self.kl_controller.load_state_dict(state["kl_controller"])
        self.skipped_samples = int(state.get("skipped_samples", 0))


# --- 1. weights ---------------------------------------------------------------------------------------------------

def submit_prompt_weights(config, orchestrator, prompts: Sequence[str]):
    """The orchestrator's call for ``prompts``, under way (None when the weights do not come from it); the loop
    collects it after generation, which it overlaps."""
    return orchestrator.weights.remote(list(prompts)) if config.weights.mode == "orchestrator" else None


def collect_prompt_weights(config, pending, num_prompts: int) -> torch.Tensor:
    """(B, K) weights per prompt: the orchestrator's f(x) (PRO; its answer to ``submit_prompt_weights``), or one
    fixed / uniform vector (MORLHF, eq. 5)."""
    k = len(config.reward_models)
    if pending is not None:
        weights = ray.get(pending).float()
        if weights.shape != (num_prompts, k):
            raise ValueError(f"orchestrator returned weights of shape {tuple(weights.shape)}, expected ({num_prompts}, {k})")
        return weights
    vector = torch.full((k,), 1.0 / k) if config.weights.mode == "uniform" else torch.tensor(config.weights.fixed)
    return vector.float().expand(num_prompts, k).clone()


# --- 2. generate --------------------------------------------------------------------------------------------------

def generate(roles, prompts: Sequence[str], num_samples: int, seed: int, version: int) -> Rollouts:
    """n samples per prompt, the prompts split over the rollout replicas; contiguous per prompt.

    ``version`` is the policy version the engines must hold (updates so far, as given to ``sync_weights``). An engine
    that Ray restarted came back with the initial weights (version 0): it is re-synced and the batch sampled again,
    so no sample comes from a stale policy. vLLM engines are all re-synced, so that a new NCCL weight group forms
    with every member. The version query rides in the same round trip as the generation: an actor runs one caller's
    calls in order, so it reports the weights it generated with.
    """
    for _ in range(3):
        pending = submit_to_replicas(roles.rollouts, prompts, num_samples, seed)
        held = [actor.weights_version.remote() for actor in roles.rollouts]
        parts, held = ray.get(pending), ray.get(held)
        rollouts = assemble_replicas(parts, len(roles.rollouts), len(prompts), num_samples)
        stale = [actor for actor, actor_version in zip(roles.rollouts, held) if actor_version != version]
        if not stale:
            return rollouts
        logger.warning("%d rollout engine(s) restarted with stale weights; re-syncing to version %d", len(stale),
                       version)
        resync = roles.rollouts if roles.rollout_placement.backend == "vllm" else stale
        push_weights(roles, resync, version, new_weight_group=True)
    raise RuntimeError(f"rollout engines keep losing their weights (expected version {version}); see the actor logs")


def submit_to_replicas(rollout_actors: List, prompts: Sequence[str], num_samples: int, seed: int) -> List:
    """The prompts dealt round-robin to the replicas (replica i seeded ``seed + i``); one pending call per replica
    that got prompts."""
    chunks = [list(prompts[i::len(rollout_actors)]) for i in range(len(rollout_actors))]
    return [actor.generate.remote(chunk, num_samples, seed + index)
            for index, (actor, chunk) in enumerate(zip(rollout_actors, chunks)) if chunk]


def assemble_replicas(parts: List[Rollouts], num_replicas: int, num_prompts: int, num_samples: int) -> Rollouts:
    """The replicas' rollouts back in prompt order (undoing ``submit_to_replicas``'s round-robin deal)."""
    if len(parts) == 1:
        return parts[0]
    order = [(i % num_replicas, i // num_replicas) for i in range(num_prompts)]
    fields = {"prompts": [], "responses": [], "prompt_ids": [], "response_ids": []}
    for part_index, position in order:
        part = parts[part_index]
        rows = slice(position * num_samples, (position + 1) * num_samples)
        for name in fields:
            fields[name].extend(getattr(part, name)[rows])
    return Rollouts(num_samples=num_samples, **fields)


# --- 3. score -----------------------------------------------------------------------------------------------------

def score(reward_actors: Dict[str, object], rollouts: Rollouts, on_bad_reward: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """All K reward actors at once → (reward matrix (N, K), valid (N,) bool).

    A NaN/inf reward raises ``BadRewardError`` naming the objective and the count, or with ``on_bad_reward: skip``
    marks the sample invalid (it is then never trained on).
    """
    names = list(reward_actors)
    columns = ray.get([reward_actors[name].score.remote(rollouts.prompts, rollouts.responses) for name in names])
    reward_matrix = torch.tensor(columns, dtype=torch.float32).T.contiguous()
    finite = torch.isfinite(reward_matrix)
    bad_counts = {name: int((~finite[:, k]).sum()) for k, name in enumerate(names)}
    bad = {name: count for name, count in bad_counts.items() if count}
    if bad and on_bad_reward == "error":
        detail = ", ".join(f"objective '{name}': {count} of {len(rollouts)}" for name, count in bad.items())
        raise BadRewardError(f"NaN/inf rewards ({detail}); set algorithm.on_bad_reward=skip to skip such samples")
    if bad:
        logger.warning("skipping samples with NaN/inf rewards: %s", bad)
    return reward_matrix, finite.all(dim=1)


# --- 4. reference and old log-probs (and values) ------------------------------------------------------------------

def submit_reference(roles, rollouts: Rollouts, with_old: bool) -> Dict[str, object]:
    """The reference pass, the policy's old log-probs (``with_old``; online DPO needs none) and the critic's values,
    under way at once; the loop scores the rollouts meanwhile."""
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

    ``weights`` are per prompt (B, K) and repeat over the prompt's n samples. Invalid samples get 0 here; their
    advantage is zeroed later.
    """
    samples = reward_matrix.shape[0] // weights.shape[0]
    rewards = torch.where(valid[:, None], reward_matrix, torch.zeros_like(reward_matrix))
    if config.algorithm.normalise_rewards:
        if valid.any():
            normaliser.update(rewards[valid])
        rewards = normaliser.normalise(rewards)
    return scalarise(rewards, weights.repeat_interleave(samples, dim=0))


# --- 6. advantages ------------------------------------------------------------------------------------------------

def group_valid(valid: torch.Tensor, num_samples: int) -> torch.Tensor:
    """(N,) True where every sample of the row's prompt is valid (RLOO and DPO compare within the group)."""
    return valid.view(-1, num_samples).all(dim=1).repeat_interleave(num_samples)


def build_update(config, rollouts: Rollouts, scalarised: torch.Tensor, valid: torch.Tensor, ref_logprobs, old_logprobs,
                 values, kl_coef: float) -> Tuple[dict, Optional[dict], Dict[str, float]]:
    """The policy update payload (and the critic's for PPO) with the advantage statistics.

    Skipped samples (invalid rewards) stay in the batch with zero advantage — no gradient flows from them and the
    batch keeps its shape; for online DPO an invalid prompt's pair is (i, i), whose loss has zero gradient.
    """
    from pro_rl.training.sequences import make_sequence_batch

    algorithm, n = config.algorithm, rollouts.num_samples
    keep = group_valid(valid, n)
    mask = make_sequence_batch(rollouts.prompt_ids, rollouts.response_ids, 0).response_mask
    ids = {"prompt_ids": rollouts.prompt_ids, "response_ids": rollouts.response_ids}
    if algorithm.name == "rloo":
        advantages, stats = rl_advantages.rloo_sequence_advantages(
            scalarised, old_logprobs, ref_logprobs, mask, n, kl_coef, algorithm.kl_estimator)
        return {**ids, "old_logprobs": old_logprobs, "advantages": advantages * keep}, None, stats
    if algorithm.name == "ppo":
        advantages, returns, stats = rl_advantages.ppo_token_advantages(
            scalarised, old_logprobs, ref_logprobs, values, mask, kl_coef, algorithm.kl_estimator, algorithm.gamma,
            algorithm.lam)
        returns = torch.where(keep[:, None], returns, values)
        policy = {**ids, "old_logprobs": old_logprobs, "advantages": advantages * keep[:, None]}
        critic = {**ids, "old_values": values, "returns": returns}
        return policy, critic, stats
    chosen, rejected = rl_advantages.dpo_pairs(scalarised, n)
    prompt_ok = keep.view(-1, n)[:, 0]
    rejected = torch.where(prompt_ok, rejected, chosen)
    ref_sequence = sum_masked(ref_logprobs, mask)
    pick = lambda index, rows: [rows[i] for i in index.tolist()]  # noqa: E731
    payload = {
        "chosen_prompt_ids": pick(chosen, rollouts.prompt_ids), "chosen_response_ids": pick(chosen, rollouts.response_ids),
        "rejected_prompt_ids": pick(rejected, rollouts.prompt_ids),
        "rejected_response_ids": pick(rejected, rollouts.response_ids),
        "ref_chosen_logps": ref_sequence[chosen], "ref_rejected_logps": ref_sequence[rejected],
    }
    margin = (scalarised[chosen] - scalarised[rejected]).mean().item()
    return payload, None, {"dpo/scalarised_margin": margin}  # kl/mean comes from the update's forward pass


# --- 7. update, 8. sync -------------------------------------------------------------------------------------------

def update(roles, policy_payload: dict, critic_payload: Optional[dict], seed: int) -> Dict[str, float]:
    """Policy (and critic) update; vLLM engines on the policy's GPU sleep through it (the sync wakes them)."""
    put_rollout_engines_to_sleep(roles)
    calls = [roles.policy.update.remote(policy_payload, seed)]
    if critic_payload is not None:
        calls.append(roles.critic.update.remote(seed=seed, **critic_payload))
    stats: Dict[str, float] = {}
    for result in ray.get(calls):
        stats.update(result)
    return stats


def put_rollout_engines_to_sleep(roles) -> None:
    """vLLM engines in sleep mode release their KV cache and weights, so the update has the GPU's memory."""
    if roles.rollout_placement.sleep_mode:
        ray.get([actor.sleep.remote() for actor in roles.rollouts])


def sync_weights(roles, version: int) -> None:
    """Push the policy's weights to every rollout engine (``pro_rl.rollout.weight_sync``); sleeping engines wake."""
    push_weights(roles, roles.rollouts, version)


_DEVICE_IDENTITIES: Dict[str, str] = {}


def device_identities(handles: List) -> List[str]:
    """Each actor's physical device (asked once per actor: a restarted actor keeps its id and its bundle)."""
    missing = [handle for handle in handles if handle._actor_id.hex() not in _DEVICE_IDENTITIES]
    for handle, identity in zip(missing, ray.get([handle.device_identity.remote() for handle in missing])):
        _DEVICE_IDENTITIES[handle._actor_id.hex()] = identity
    return [_DEVICE_IDENTITIES[handle._actor_id.hex()] for handle in handles]


def push_weights(roles, rollout_actors: List, version: int, new_weight_group: bool = False) -> None:
    """The policy's weights into ``rollout_actors``, each by its transport (``weight_sync.weight_transport``): CUDA
    IPC handles on the policy's GPU, a NCCL broadcast to vLLM engines elsewhere, a CPU state dict to other hf
    engines. All copies run at once; one wait for the lot."""
    placement = roles.rollout_placement
    policy_device, *engine_devices = device_identities([roles.policy, *rollout_actors])
    by_transport: Dict[str, List] = {}
    for actor, device in zip(rollout_actors, engine_devices):
        by_transport.setdefault(weight_transport(placement.backend, device, policy_device), []).append(actor)
    calls = []
    for transport, actors in by_transport.items():
        if transport == "nccl":
            payload = nccl_weight_payload(roles.policy, actors, placement.tensor_parallel_size, new_weight_group)
            calls.append(roles.policy.broadcast_weights.remote())
        else:
            payload = roles.policy.weights_for_sync.remote(transport)
        calls.extend(actor.load_weights.remote(payload, version) for actor in actors)
    ray.get(calls)


_WEIGHT_GROUPS: Dict[str, Tuple[Tuple[str, ...], object]] = {}


def nccl_weight_payload(policy, engines: List, tensor_parallel_size: int, new_group: bool):
    """The engines' ``load_weights`` payload for a NCCL broadcast (an object-store reference to the tensors' names,
    dtypes and shapes). The group — the policy as rank 0 and every worker of ``engines`` — forms on first use, when
    its members change, and on ``new_group`` (an engine restarted)."""
    members = tuple(engine._actor_id.hex() for engine in engines)
    known = _WEIGHT_GROUPS.get(policy._actor_id.hex())
    if new_group or known is None or known[0] != members:
        (host, port), metadata = ray.get([policy.weight_group_address.remote(), policy.weight_metadata.remote()])
        world_size = 1 + len(engines) * tensor_parallel_size
        ray.get([policy.join_weight_group.remote(host, port, world_size)]  # every rank joins at once
                + [engine.join_weight_group.remote(host, port, 1 + index * tensor_parallel_size, world_size)
                   for index, engine in enumerate(engines)])
        known = (members, ray.put({"transport": "nccl", "metadata": metadata}))
        _WEIGHT_GROUPS[policy._actor_id.hex()] = known
    return known[1]


# --- 9. log -------------------------------------------------------------------------------------------------------

def step_metrics(objectives: Sequence[str], reward_matrix: torch.Tensor, valid: torch.Tensor, weights: torch.Tensor,
                 scalarised: torch.Tensor, rollouts: Rollouts) -> Dict[str, float]:
    """Each objective's raw reward, the scalarised reward, weight statistics and response length."""
    values: Dict[str, float] = {}
    finite_rows = reward_matrix[valid] if valid.any() else reward_matrix.nan_to_num()
    for k, name in enumerate(objectives):
        values[f"reward/{name}/mean"] = finite_rows[:, k].mean().item()
        values[f"weights/{name}/mean"] = weights[:, k].mean().item()
        values[f"weights/{name}/std"] = weights[:, k].std().item() if weights.shape[0] > 1 else 0.0
    values["reward/total/mean"] = scalarised[valid].mean().item() if valid.any() else math.nan
    entropy = -(weights.clamp_min(1e-12).log() * weights).sum(dim=1)
    values["weights/entropy"] = entropy.mean().item()
    values["response/length"] = sum(len(ids) for ids in rollouts.response_ids) / max(len(rollouts), 1)
    values["reward/skipped"] = float((~valid).sum())
    return values


@dataclass
class HeldOutResult:
    per_objective: Dict[str, float]
    w_star: Optional[float] = None
    responses: List[str] = field(default_factory=list)


def evaluate_held_out(roles, prompts: Sequence[str], true_weights: Optional[torch.Tensor], objectives: Sequence[str],
                      seed: int, version: int) -> HeldOutResult:
    """One sample per held-out prompt from the policy of ``version``, scored by the raw reward models;
    w*-scalarised when w* is known."""
    rollouts = generate(roles, prompts, 1, seed, version)
    reward_matrix, valid = score(roles.rewards, rollouts, "skip")
    rows = reward_matrix[valid]
    result = HeldOutResult({name: rows[:, k].mean().item() for k, name in enumerate(objectives)},
                           responses=rollouts.responses)
    if true_weights is not None:
        result.w_star = scalarise(rows, true_weights.float()[valid]).mean().item()
    return result
