"""Start the actors of one RL run with the resources the config gives each role.

All roles are reserved at once in one placement group (PACK), so a run that cannot fit fails before any model
loads, with the resources it asked for. A role whose ``colocate_with`` names another role shares that role's
bundle (e.g. the reference on the policy's GPU with ``num_gpus: 0.5`` each); every other role gets a bundle of its
own. A role with ``resources.<role>.placement`` (PACK, SPREAD, STRICT_PACK, STRICT_SPREAD) gets a placement group
of its own instead, one bundle per replica under that strategy: e.g. ``STRICT_SPREAD`` puts each rank of a policy
group on a different node (``RunPlacement``).

Replicas: ``rollout.replicas`` engines share the generation work; ``policy.replicas`` and ``critic.replicas``
ranks form the role's DeepSpeed data-parallel group and ``reference.replicas`` actors split its log-prob rows
(``actors.train_group.TrainingGroup``; one replica is the plain actor, as before); the reward and orchestrator roles
run one actor each (one reward actor per scorer of the reward source: K for ``reward_models``, one per objective;
one for ``moslim``, the multi-head classifier). A role's replicas share its bundle unless it has a placement group
of its own.

The run's RL algorithm and reward source are objects (``pro_rl.rl``) the driver resolved from the registries: the
algorithm says whether a critic starts and sizes the training engines, the reward source lists the reward actors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional

import ray
from ray.util.placement_group import placement_group, remove_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from actors.orchestrator import OrchestratorActor
from actors.policy import CriticActor, PolicyActor, ReferenceActor
from actors.reward import RewardActor
from actors.rollout import RolloutActor
from actors.train_group import TrainingGroup
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
    placement: Optional["RunPlacement"] = field(default=None, repr=False)
    rollout_placement: RolloutPlacement = field(default_factory=RolloutPlacement)  # backend, tensor parallel, sleep
    reward_source: Optional[object] = None  # ``pro_rl.rl.RewardSource``: maps the reward actors' outputs to R
    weight_sync: WeightSync = field(default_factory=WeightSync, repr=False)  # policy → rollout engines

    def handles(self) -> List:
        """One handle per actor or ``TrainingGroup`` of the run."""
        return [handle for handle in [self.policy, self.reference, *self.rewards.values(), *self.rollouts,
                                      self.orchestrator, self.critic] if handle is not None]

    def actors(self) -> List["ray.actor.ActorHandle"]:
        """Every actor of the run, each rank of a training group included."""
        return [rank for handle in self.handles()
                for rank in (handle.ranks if isinstance(handle, TrainingGroup) else [handle])]

    def shutdown(self) -> None:
        for handle in self.actors():
            ray.kill(handle, no_restart=True)
        if self.placement is not None:
            self.placement.remove()


def actor_counts(config, with_orchestrator: bool, with_critic: bool, num_scorers: Optional[int] = None) -> Dict[str, int]:
    """Actors per role; ``num_scorers`` reward actors (default: one per ``reward_models`` entry)."""
    rewards = len(config.reward_models) if num_scorers is None else num_scorers
    resources = config.resources
    return {"policy": resources.policy.replicas, "reference": resources.reference.replicas, "reward": rewards,
            "orchestrator": int(with_orchestrator), "rollout": max(1, resources.rollout.replicas),
            "critic": resources.critic.replicas if with_critic else 0}


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


def reserve(bundles: List[dict], strategy: str, timeout_s: float):
    """A ready placement group of ``bundles``; a cluster that cannot fit them raises naming both."""
    group = placement_group(bundles, strategy=strategy)
    try:
        ray.get(group.ready(), timeout=timeout_s)
    except ray.exceptions.GetTimeoutError:
        remove_placement_group(group)
        raise RuntimeError(f"the Ray cluster cannot fit this run's resources {bundles} ({strategy}; available: "
                           f"{ray.available_resources()}); lower resources.* in the config") from None
    return group


class RunPlacement:
    """The run's placement groups: one shared PACK group (``plan_bundles``), and one per role that names a
    ``resources.<role>.placement`` strategy, with a bundle per replica (replica i in bundle i)."""

    def __init__(self, config, counts: Dict[str, int], timeout_s: float):
        self.config = config
        own = [role for role in ROLES if counts[role] and getattr(config.resources, role).placement]
        bundles, self.bundle_of = plan_bundles(config, {role: 0 if role in own else n for role, n in counts.items()})
        self.shared, self.groups = reserve(bundles, "PACK", timeout_s), {}
        try:
            for role in own:
                spec = getattr(config.resources, role)
                bundle = {key: value for key, value in (("CPU", spec.num_cpus), ("GPU", spec.num_gpus)) if value > 0}
                self.groups[role] = reserve([bundle or {"CPU": 0.01}] * counts[role], spec.placement, timeout_s)
        except BaseException:
            self.remove()
            raise

    def options(self, role: str, replica: int = 0) -> dict:
        """``Actor.options`` of a role's replica: its resources and its placement-group bundle."""
        spec = getattr(self.config.resources, role)
        group, bundle = (self.groups[role], replica) if role in self.groups else (self.shared, self.bundle_of[role])
        strategy = PlacementGroupSchedulingStrategy(placement_group=group, placement_group_bundle_index=bundle)
        return dict(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus, scheduling_strategy=strategy)

    def remove(self) -> None:
        for group in [self.shared, *self.groups.values()]:
            remove_placement_group(group)


def start_rollouts_first(create: Callable[[], List], sleep: bool, wait: Callable = ray.get,
                         before_others: bool = True) -> List:
    """Create the rollout engines; with ``before_others`` (vLLM) wait until they are constructed and, with
    ``sleep``, asleep; returns them.

    vLLM sizes its KV cache from the GPU's free memory while it starts, so with vLLM the training roles start only
    after this (as OpenRLHF does): a colocated actor allocating or freeing memory meanwhile would shrink the cache
    or make vLLM's memory profiling fail. The hf backend has no such profile, so its engines start alongside the
    other roles (``before_others=False``: no wait here; ``launch_roles`` waits for every actor at the end).
    ``wait`` is ``ray.get`` (a stand-in in tests).
    """
    engines = create()
    if not before_others:
        return engines
    wait([engine.__ray_ready__.remote() for engine in engines])
    if sleep:
        wait([engine.sleep.remote() for engine in engines])
    return engines


def start_role(role: str, actor_class, replicas: int, options: Callable[[int], dict], args: tuple, share: dict,
               gathers_weights: bool = False):
    """The role's actor, or with several replicas its ``TrainingGroup`` (ranks of one process group for the
    trained roles, independent actors for the reference). ``options(replica)``: the replica's ``Actor.options``;
    ``gathers_weights``: ZeRO-3 ranks, which all take part in a weight sync."""
    if replicas == 1:
        return actor_class.options(**options(0)).remote(*args, **share)
    if role == "reference":
        return TrainingGroup.start(role, lambda rank: actor_class.options(**options(rank)).remote(*args, **share),
                                   replicas, collective=False)
    return TrainingGroup.start(role, lambda rank: actor_class.options(**options(rank)).remote(
        *args, **share, rank=rank, world_size=replicas), replicas, gathers_weights=gathers_weights)


def launch_roles(config, policy_path: str, algorithm, reward_source, orchestrator_path: str = "",
                 timeout_s: float = 120.0) -> Roles:
    """Create every actor of the run; returns their handles once all are constructed.

    vLLM rollout engines start first, alone (``start_rollouts_first``), then the other roles; hf engines start
    with the others.

    ``algorithm``: the run's ``pro_rl.rl.RLAlgorithm`` object (passed into the policy and critic actors);
    ``reward_source``: its ``pro_rl.rl.RewardSource`` (one reward actor per scorer).
    """
    with_critic = algorithm.needs_critic
    scorers = reward_source.scorers()
    counts = actor_counts(config, bool(orchestrator_path), with_critic, len(scorers))
    placement = RunPlacement(config, counts, timeout_s)

    def options(role: str) -> Callable[[int], dict]:
        return lambda replica: placement.options(role, replica)

    def share(role: str) -> dict:
        spec = getattr(config.resources, role)
        return dict(num_cpus=spec.num_cpus, num_gpus=spec.num_gpus)

    rollout_placement = RolloutPlacement.from_config(config)
    rollouts: List = []
    try:  # a model or reward function that fails to load stops the run here, naming the role's error
        rollouts = start_rollouts_first(
            lambda: [RolloutActor.options(**placement.options("rollout", replica)).remote(
                policy_path, config, **share("rollout")) for replica in range(counts["rollout"])],
            rollout_placement.sleep_mode,
            before_others=rollout_placement.backend == "vllm")
        roles = Roles(
            policy=start_role("policy", PolicyActor, counts["policy"], options("policy"),
                              (policy_path, config, algorithm), share("policy"),
                              gathers_weights=config.trainer.zero_stage == 3),
            reference=start_role("reference", ReferenceActor, counts["reference"], options("reference"),
                                 (policy_path, config), share("reference")),
            rewards={scorer.name: RewardActor.options(**placement.options("reward", index)).remote(
                scorer, **share("reward")) for index, scorer in enumerate(scorers)},
            rollouts=rollouts, placement=placement, rollout_placement=rollout_placement, reward_source=reward_source)
    except BaseException:
        Roles(None, None, {}, rollouts, placement=placement).shutdown()
        raise
    if orchestrator_path:
        roles.orchestrator = OrchestratorActor.options(**placement.options("orchestrator")).remote(
            orchestrator_path, config.orchestrator.max_prompt_length, **share("orchestrator"),
            router=config.weights.mode)
    if with_critic:
        roles.critic = start_role("critic", CriticActor, counts["critic"], options("critic"),
                                  (policy_path, config, algorithm), share("critic"))
    try:
        ray.get([handle.__ray_ready__.remote() for handle in roles.handles()])  # groups: ranks joined too
    except BaseException:
        roles.shutdown()
        raise
    return roles


def launch_generation_roles(config, timeout_s: float = 120.0) -> Roles:
    """The roles of the pipelines that sample and score without an RL loop (``pipelines.generation.RoleGenerator``):
    one reward actor per ``reward_models`` entry now, and the bundles of the rollout engines, which
    ``start_generation_engines`` starts later with the policy to sample from.

    Resources and placement are the config's; a role colocated with a role that does not run here (e.g. the
    rollout engines with the policy's GPU) gets a bundle of its own.
    """
    from pro_rl.rl.reward_models import RewardModels

    scorers = RewardModels(config).scorers()
    counts = {role: 0 for role in ROLES}
    counts.update(rollout=max(1, config.resources.rollout.replicas), reward=len(scorers))
    config = without_absent_anchors(config, counts)
    placement = RunPlacement(config, counts, timeout_s)
    spec = config.resources.reward
    roles = Roles(None, None, {}, [], placement=placement, rollout_placement=RolloutPlacement.from_config(config))
    try:
        roles.rewards = {scorer.name: RewardActor.options(**placement.options("reward", index)).remote(
            scorer, num_cpus=spec.num_cpus, num_gpus=spec.num_gpus) for index, scorer in enumerate(scorers)}
        ray.get([handle.__ray_ready__.remote() for handle in roles.handles()])
    except BaseException:
        roles.shutdown()
        raise
    return roles


def start_generation_engines(roles: Roles, config, policy_path: str) -> None:
    """``launch_generation_roles``'s rollout engines, on ``policy_path``'s weights; returns once they are ready.
    Nothing sleeps here: no policy shares their GPU."""
    spec = config.resources.rollout
    roles.rollouts = start_rollouts_first(
        lambda: [RolloutActor.options(**roles.placement.options("rollout", replica)).remote(
            policy_path, config, num_cpus=spec.num_cpus, num_gpus=spec.num_gpus)
            for replica in range(max(1, spec.replicas))],
        sleep=False)


def without_absent_anchors(config, counts: Dict[str, int]):
    """``config`` with ``colocate_with`` cleared where it names a role that starts no actor (``counts``)."""
    resources = config.resources
    for role in ROLES:
        spec = getattr(resources, role)
        if spec.colocate_with and not counts.get(spec.colocate_with):
            resources = replace(resources, **{role: replace(spec, colocate_with="")})
    return replace(config, resources=resources)
