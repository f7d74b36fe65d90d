"""Step 2 of one RL step, "generate", and the weight pushes it relies on (re-exported by ``pipelines.rl_stages``).

Generation is split in two so that the RL loop can overlap it with the update (``algorithm.off_policy_steps: 1``):
``submit_generation`` starts it on the rollout replicas and returns at once, ``collect_generation`` waits for it.
``generate`` does both. Either way the engines report the weights version they sampled with, and an engine that Ray
restarted (back on the initial weights) is re-synced and its batch sampled again, so no sample comes from weights
older than the loop allows.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import ray
import torch

from pro_rl.rollout import Rollouts

logger = logging.getLogger("pro_rl.pipeline")


@dataclass
class PendingRollouts:
    """A generation under way on the rollout replicas (``submit_generation``)."""

    prompts: List[str]
    num_samples: int
    seed: int
    version: int  # the weights version the engines hold when it was submitted
    behaviour_logprobs: bool
    parts: List  # one pending ``generate`` per replica that got prompts
    held: List  # each replica's weights version, asked in the same round trip


def submit_generation(roles, prompts: Sequence[str], num_samples: int, seed: int, version: int,
                      behaviour_logprobs: bool = False) -> PendingRollouts:
    """Start generating n samples per prompt on the replicas (``submit_to_replicas``) and return at once. The
    version query rides in the same round trip as the generation: an actor runs one caller's calls in order, so it
    reports the weights it generated with."""
    parts = submit_to_replicas(roles.rollouts, prompts, num_samples, seed, behaviour_logprobs)
    held = [actor.weights_version.remote() for actor in roles.rollouts]
    return PendingRollouts(list(prompts), num_samples, seed, version, behaviour_logprobs, parts, held)


def finish_generation(roles, pending: PendingRollouts) -> Tuple[Rollouts, List]:
    """(the rollouts in prompt order, the replicas whose weights were not ``pending.version``: restarted ones)."""
    parts, held = ray.get(pending.parts), ray.get(pending.held)
    rollouts = assemble_replicas(parts, len(roles.rollouts), len(pending.prompts), pending.num_samples)
    return rollouts, [actor for actor, actor_version in zip(roles.rollouts, held) if actor_version != pending.version]


def generate(roles, prompts: Sequence[str], num_samples: int, seed: int, version: int,
             behaviour_logprobs: bool = False) -> Rollouts:
    """n samples per prompt, the prompts split over the rollout replicas; contiguous per prompt.

    ``version`` is the policy version the engines must hold (updates so far, as given to ``sync_weights``). An engine
    that Ray restarted came back with the initial weights (version 0): it is re-synced and the batch sampled again,
    so no sample comes from a stale policy. ``behaviour_logprobs``: the rollouts carry the sampling weights'
    log-probs (``Rollouts.logprobs``).
    """
    for _ in range(3):
        rollouts, stale = finish_generation(
            roles, submit_generation(roles, prompts, num_samples, seed, version, behaviour_logprobs))
        if not stale:
            return rollouts
        resync_restarted(roles, stale, version)
    raise RuntimeError(f"rollout engines keep losing their weights (expected version {version}); see the actor logs")


def collect_generation(roles, pending: PendingRollouts, current_version: int) -> Tuple[Rollouts, int]:
    """(the rollouts of ``submit_generation``, the weights version that sampled them). When an engine restarted
    while it generated, the batch is sampled again with the policy's weights of now (``current_version``)."""
    rollouts, stale = finish_generation(roles, pending)
    if not stale:
        return rollouts, pending.version
    resync_restarted(roles, stale, current_version)
    return generate(roles, pending.prompts, pending.num_samples, pending.seed, current_version,
                    pending.behaviour_logprobs), current_version


def resync_restarted(roles, stale: List, version: int) -> None:
    """Push the policy's weights (``version``) again after engines restarted; vLLM engines are all re-synced, so
    that a new NCCL weight group forms with every member."""
    logger.warning("%d rollout engine(s) restarted with stale weights; re-syncing to version %d", len(stale), version)
    resync = roles.rollouts if roles.rollout_placement.backend == "vllm" else stale
    push_weights(roles, resync, version, new_weight_group=True)


def submit_to_replicas(rollout_actors: List, prompts: Sequence[str], num_samples: int, seed: int,
                       behaviour_logprobs: bool = False) -> List:
    """The prompts dealt round-robin to the replicas (replica i seeded ``seed + i``); one pending call per replica
    that got prompts."""
    chunks = [list(prompts[i::len(rollout_actors)]) for i in range(len(rollout_actors))]
    return [actor.generate.remote(chunk, num_samples, seed + index, behaviour_logprobs)
            for index, (actor, chunk) in enumerate(zip(rollout_actors, chunks)) if chunk]


def assemble_replicas(parts: List[Rollouts], num_replicas: int, num_prompts: int, num_samples: int) -> Rollouts:
    """The replicas' rollouts back in prompt order (undoing ``submit_to_replicas``'s round-robin deal)."""
    if len(parts) == 1:
        return parts[0]
    with_logprobs = all(part.logprobs is not None for part in parts)
    prompts, responses, prompt_ids, response_ids, logprobs = [], [], [], [], []
    for index in range(num_prompts):
        part, position = parts[index % num_replicas], index // num_replicas
        rows = slice(position * num_samples, (position + 1) * num_samples)
        prompts += part.prompts[rows]
        responses += part.responses[rows]
        prompt_ids += part.prompt_ids[rows]
        response_ids += part.response_ids[rows]
        logprobs += part.logprobs[rows] if with_logprobs else []
    return Rollouts(prompts, responses, prompt_ids, response_ids, num_samples, logprobs if with_logprobs else None)


def behaviour_logprobs(rollouts: Rollouts) -> torch.Tensor:
    """(N, R) the engines' per-token log-probs of the sampling weights, 0 at padding (``Experience.old_logprobs``'s
    layout)."""
    if rollouts.logprobs is None:
        raise ValueError("these rollouts carry no behaviour log-probs (generate with behaviour_logprobs=True)")
    width = max((len(row) for row in rollouts.logprobs), default=0)
    return torch.tensor([list(row) + [0.0] * (width - len(row)) for row in rollouts.logprobs], dtype=torch.float32)


def push_weights(roles, rollout_actors: List, version: int, new_weight_group: bool = False) -> None:
    """The policy's weights into ``rollout_actors`` by each one's transport (``actors.weight_sync.WeightSync``)."""
    roles.weight_sync.push(roles.policy, rollout_actors, roles.rollout_placement, version, new_weight_group)
