"""Checks of ``resources.<role>`` that span several keys: training groups and per-role placement groups.

- A training group (``resources.policy.replicas`` or ``resources.critic.replicas`` > 1) splits every mini-batch over
  its ranks, each in micro-batches of ``trainer.micro_batch_size``: the mini-batch must be a multiple of
  ranks × micro-batch size (``pro_rl.training.distributed``).
- ``resources.<role>.placement`` is empty (the role shares the run's PACK placement group) or a Ray placement
  strategy; a role with a placement group of its own neither colocates with another role nor hosts one.
"""

from __future__ import annotations

from typing import Callable

from pro_rl.config.errors import fail, one_of

PLACEMENTS = ("", "PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
ROLES = ("policy", "reference", "reward", "orchestrator", "rollout", "critic")


def validate_groups_and_placement(config, origin: str, rows_per_update: Callable[[], int]) -> None:
    """``rows_per_update()``: the rows of one policy update by the run's algorithm (asked only for a group)."""
    resources = config.resources
    for role in (role for role in ("policy", "critic") if getattr(resources, role).replicas > 1):
        ranks = getattr(resources, role).replicas
        mini = config.algorithm.mini_batch_size or rows_per_update()
        micro = config.trainer.micro_batch_size or mini // ranks
        if micro < 1 or mini % (micro * ranks):
            fail(origin, f"resources.{role}.replicas",
                 f"{ranks} ranks cannot share mini-batches of {mini} rows in micro-batches of {micro}")
    for role in ROLES:
        spec = getattr(resources, role)
        if spec.placement:
            one_of(origin, f"resources.{role}.placement", spec.placement, PLACEMENTS[1:])
        if spec.placement and spec.colocate_with:
            fail(origin, f"resources.{role}.colocate_with", f"cannot be combined with resources.{role}.placement "
                                                            f"'{spec.placement}' (a placement group of its own)")
        anchor = spec.colocate_with
        if anchor in ROLES and getattr(resources, anchor).placement:
            fail(origin, f"resources.{role}.colocate_with",
                 f"'{anchor}' has a placement group of its own (resources.{anchor}.placement); colocate elsewhere")
