"""Start the actors of one RL run with the resources the config gives each role.

All roles are reserved at once in one placement group (PACK), so a run that cannot fit fails before any model
loads, with the resources it asked for. A role whose ``colocate_with`` names another role shares that role's
bundle (e.g. the reference on the policy's GPU with ``num_gpus: 0.5`` each); every other role gets a bundle of its
own. Replicas: ``rollout.replicas`` engines share the generation work; the other roles run one actor each (one
reward actor per scorer of the reward source: K for ``reward_models``, one per objective; one for ``moslim``,
the multi-head classifier).

The run's RL algorithm and reward source are objects (``pro_rl.rl``) the driver resolved from the registries: the
algorithm says whether a critic starts and sizes the training engines, the reward source lists the reward actors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from actors.orchestrator import OrchestratorActor
from actors.policy import CriticActor, PolicyActor, ReferenceActor
from actors.reward import RewardActor
from actors.rollout import RolloutActor
from actors.weight_sync import WeightSync
from pro_rl.rollout.base import RolloutPlacement

ROLES = ("policy", "reference", "reward", "orchestrator", "rollout", "critic")


@dataclass
class Roles:
    policy: "ray.actor.ActorHandle"
    reference: "ray.actor.ActorHandle"
    rewards: Dict[str, "ray.actor.ActorHandle"]
    rollouts: List["ray.actor.ActorHandle"]
    orchestrator: Optional["ray.actor.ActorHandle"] = None
    critic: Optional["ray.actor.ActorHandle"] = None
    placement: Optional[object] = field(default=None, repr=False)
    rollout_placement: RolloutPlacement = field(default_factory=RolloutPlacement)  # backend, tensor parallel, sleep
    reward_source: Optional[object] = None  # ``pro_rl.rl.RewardSource``: maps the reward actors' outputs to R
    weight_sync: WeightSync = field(default_factory=WeightSync, repr=False)  # policy → rollout engines

    def actors(self) -> List["ray.actor.ActorHandle"]:
        return [handle for handle in [self.policy, self.reference, *self.rewards.values(), *self.rollouts,
                                      self.orchestrator, self.critic] if handle is not None]

    def shutdown(self) -> None:
        for handle in self.actors():
            ray.kill(handle, no_restart=True)
        if self.placement is not None:
            remove_placement_group(self.placement)


def actor_counts(config, with_orchestrator: bool, with_critic: bool, num_scorers: Optional[int] = None) -> Dict[str, int]:
    """Actors per role; ``num_scorers`` reward actors (default: one per ``reward_models`` entry)."""
    rewards = len(config.reward_models) if num_scorers is None else num_scorers
    return {"policy": 1, "reference": 1, "reward": rewards, "orchestrator": int(with_orchestrator),
            "rollout": max(1, config.resources.rollout.replicas), "critic": int(with_critic)}


def plan_bundles(config, counts: Dict[str, int]) -> tuple[List[dict], Dict[str, int]]:
    """Bundles of the placement group and, per role, the index of the bundle its actors go to."""
    resources = config.resources
    anchors = [role for role in ROLES if counts[role] and not getattr(resources, role).colocate_with]
    bundle_of = {role: index for index, role in enumerate(anchors)}
    bundles = [{"CPU": 0.0, "GPU": 0.0} for _ in anchors]
    for role in ROLES:
        if not counts[role]:
            continue
        spec = getattr(resources, role)
        anchor = spec.colocate_with or role
        if anchor not in bundle_of:
            raise ValueError(f"resources.{role}.colocate_with: '{anchor}' is not a role of this run ({anchors})")
        bundle_of[role] = bundle_of[anchor]
        bundles[bundle_of[role]]["CPU"] += spec.num_cpus * counts[role]
        bundles[bundle_of[role]]["GPU"] += spec.num_gpus * counts[role]
    return [{k: v for k, v in bundle.items() if v > 0} or {"CPU": 0.01} for bundle in bundles], bundle_of


def start_rollouts_first(create: Callable[[], List], sleep: bool, wait: Callable = ray.get) -> List:
    """Create the rollout engines, wait until they are constructed and, with ``sleep``, asleep; returns them.

    vLLM sizes its KV cache from the GPU's free memory while it starts, so the training roles start only after
    this (as OpenRLHF does): a colocated actor allocating or freeing memory meanwhile would shrink the cache or make
    vLLM's memory profiling fail. ``wait`` is ``ray.get`` (a stand-in in tests).
    """
    engines = create()
    wait([engine.__ray_ready__.remote() for engine in engines])
    if sleep:
        wait([engine.sleep.remote() for engine in engines])
    return engines


def launch_roles(config, policy_path: str, algorithm, reward_source, orchestrator_path: str = "",
                 timeout_s: float = 120.0) -> Roles:
    """Create every actor of the run; returns their handles once all are constructed.

    The rollout engines start first, alone (``start_rollouts_first``), then the other roles.

    ``algorithm``: the run's ``pro_rl.rl.RLAlgorithm`` object (passed into the policy and critic actors);
    ``reward_source``: its ``pro_rl.rl.RewardSource`` (one reward actor per scorer).
    """
    with_critic = algorithm.needs_critic
    scorers = reward_source.scorers()
    counts = actor_counts(config, bool(orchestrator_path), with_critic, len(scorers))
    bundles, bundle_of = plan_bundles(config, counts)
    group = placement_group(bundles, strategy="PACK")
    try:
        ray.get(group.ready(), timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        remove_placement_group(group)
        raise RuntimeError(f"the Ray cluster cannot fit this run's resources {bundles} "
                           f"(available: {ray.available_resources()}); lower resources.* in the config") from None

    def options(role: str) -> dict:
        spec = getattr(config.resources, role)
        return dict(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus, scheduling_strategy=PlacementGroupSchedulingStrategy(
            placement_group=group, placement_group_bundle_index=bundle_of[role]))

    def share(role: str) -> dict:
        spec = getattr(config.resources, role)
        return dict(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus)

    rollout_placement = RolloutPlacement.from_config(config)
    rollouts: List = []
    try:  # a model or reward function that fails to load stops the run here, naming the role's error
        rollouts = start_rollouts_first(
            lambda: [RolloutActor.options(**options("rollout")).remote(policy_path, config, **share("rollout"))
                     for _ in range(counts["rollout"])], rollout_placement.sleep_mode)
        roles = Roles(
            policy=PolicyActor.options(**options("policy")).remote(policy_path, config, algorithm, **share("policy")),
            reference=ReferenceActor.options(**options("reference")).remote(policy_path, config, **share("reference")),
            rewards={scorer.name: RewardActor.options(**options("reward")).remote(scorer, **share("reward"))
                     for scorer in scorers},
            rollouts=rollouts, placement=group, rollout_placement=rollout_placement, reward_source=reward_source)
    except BaseException:
        Roles(None, None, {}, rollouts, placement=group).shutdown()
        raise
    if orchestrator_path:
        roles.orchestrator = OrchestratorActor.options(**options("orchestrator")).remote(
            orchestrator_path, config.orchestrator.max_prompt_length, **share("orchestrator"),
            router=config.weights.mode)
    if with_critic:
        roles.critic = CriticActor.options(**options("critic")).remote(policy_path, config, algorithm,
                                                                        **share("critic"))
    try:
        ray.get([handle.__ray_ready__.remote() for handle in roles.actors()])
    except BaseException:
        roles.shutdown()
        raise
    return roles
