"""Weight sync from the policy to the rollout engines as an object the roles own (step 8 of an RL step).

``WeightSync`` remembers what it learned about the run's actors: each actor's physical device (asked once: a
restarted actor keeps its id and its placement bundle) and, per policy, the NCCL weight group it formed with the
vLLM engines on other GPUs. The transports themselves (CUDA IPC, NCCL, host copy) are described in
``pro_rl.rollout.weight_sync``; this class only decides who gets what and issues the calls.
"""

from __future__ import annotations

from typing import Dict, List, Tuple

import ray

from pro_rl.rollout.base import RolloutPlacement
from pro_rl.rollout.weight_sync import weight_transport


class WeightSync:
    """Pushes the policy's weights into rollout engines; its state is the device identities and NCCL groups."""

    def __init__(self) -> None:
        self.device_of: Dict[str, str] = {}  # actor id → ``device_identity``
        self.weight_groups: Dict[str, Tuple[Tuple[str, ...], object]] = {}  # policy id → (members, payload ref)

    def device_identities(self, handles: List) -> List[str]:
        """Each actor's physical device, asking only the actors not seen before."""
        missing = [handle for handle in handles if handle._actor_id.hex() not in self.device_of]
        for handle, identity in zip(missing, ray.get([handle.device_identity.remote() for handle in missing])):
            self.device_of[handle._actor_id.hex()] = identity
        return [self.device_of[handle._actor_id.hex()] for handle in handles]

    def push(self, policy, rollout_actors: List, placement: RolloutPlacement, version: int,
             new_weight_group: bool = False) -> None:
        """The policy's weights into ``rollout_actors``, each by its transport (``weight_transport``): CUDA IPC
        handles on the policy's GPU, a NCCL broadcast to vLLM engines elsewhere, a CPU state dict to other hf
        engines. All copies run at once; one wait for the lot."""
        policy_device, *engine_devices = self.device_identities([policy, *rollout_actors])
        by_transport: Dict[str, List] = {}
        for actor, device in zip(rollout_actors, engine_devices):
            by_transport.setdefault(weight_transport(placement.backend, device, policy_device), []).append(actor)
        calls = []
        for transport, actors in by_transport.items():
            if transport == "nccl":
                payload = self.nccl_payload(policy, actors, placement.tensor_parallel_size, new_weight_group)
                calls.append(policy.broadcast_weights.remote())
            else:
                payload = policy.weights_for_sync.remote(transport)
            calls.extend(actor.load_weights.remote(payload, version) for actor in actors)
        ray.get(calls)

    def nccl_payload(self, policy, engines: List, tensor_parallel_size: int, new_group: bool):
        """The engines' ``load_weights`` payload for a NCCL broadcast (an object-store reference to the tensors'
        names, dtypes and shapes). The group — the policy as rank 0 and every worker of ``engines`` — forms on first
        use, when its members change, and on ``new_group`` (an engine restarted)."""
        members = tuple(engine._actor_id.hex() for engine in engines)
        known = self.weight_groups.get(policy._actor_id.hex())
        if new_group or known is None or known[0] != members:
            (host, port), metadata = ray.get([policy.weight_group_address.remote(), policy.weight_metadata.remote()])
            world_size = 1 + len(engines) * tensor_parallel_size
            ray.get([policy.join_weight_group.remote(host, port, world_size)]  # every rank joins at once
                    + [engine.join_weight_group.remote(host, port, 1 + index * tensor_parallel_size, world_size)
                       for index, engine in enumerate(engines)])
            known = (members, ray.put({"transport": "nccl", "metadata": metadata}))
            self.weight_groups[policy._actor_id.hex()] = known
        return known[1]
