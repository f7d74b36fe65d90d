"""A role run by several actors that the driver addresses as one: ``TrainingGroup``.

``resources.policy.replicas: N`` (and ``critic``) starts N actors of the role's class, ranks 0..N-1 of one
``torch.distributed`` group (gloo on CPU, nccl on CUDA) under DeepSpeed ZeRO-0/1/2/3. Rank 0 reports its node's
address (``ray.util.get_node_ip_address()``) and a free port there; every rank, rank 0 included, joins the group at
that address (``join_training_group``), never at 127.0.0.1, so the ranks may sit on different nodes.
``resources.reference.replicas: N`` starts N independent reference actors (no process group: the reference is
frozen) that split the rows of each log-prob pass. One replica (the default) is the role's actor itself, exactly
as before: no group object, no extra hop.

The group answers the calls the RL driver makes on a role's actor handle, each ``.remote(...)`` returning one
``ObjectRef`` (a ``gather_ranks`` task over the ranks' results):

- ``update(batch, seed)``: the whole update batch goes to every rank (one ``ray.put``); each rank trains on its
  share of every seeded mini-batch (``pro_rl.training.distributed.rank_share``) and DeepSpeed averages the
  gradients, so the weights after the step equal the single-rank step's. The statistics are the ranks' mean.
- ``logprobs`` / ``values``: the rows split into equal shares (``row_shares``), the outputs merged in row order.
- ``save_state`` / ``load_state``: every rank (DeepSpeed writes and reads its own shards in the shared directory;
  across nodes that directory must be on a shared filesystem); ``save_pretrained``: every rank takes part (ZeRO-3
  gathers the partitions), rank 0 writes.
- ``weights_for_sync`` / ``broadcast_weights``: rank 0, which holds whole weights under ZeRO-0/1/2. Under ZeRO-3
  (``gathers_weights``) every rank: the weights are gathered a bucket at a time, a collective of the whole group
  (``pro_rl.training.full_weights``); rank 0 builds the payload or sends over the NCCL weight group and answers,
  the other ranks only take part in the gathers.
- every other method (``device_identity``, the NCCL weight-group calls, ``parameter_checksum``) and
  ``_actor_id``: rank 0.

Failure: if any rank fails or dies, the call's ref raises ``TrainingGroupError`` naming the role, the rank and the
method as soon as that rank's result is in, without waiting for the others; the surviving ranks leave their
pending collective after ``trainer.group_timeout_s`` (or when the driver shuts the roles down). Ranks are not
restarted: a group cannot take a fresh rank mid-run, so the run stops and ``run.resume: auto`` continues it from
its last checkpoint.
"""

from __future__ import annotations

from typing import Callable, List, Sequence

import ray

from pro_rl.training.distributed import mean_stats, merge_rows, row_shares, take_rows


WEIGHT_SYNC_METHODS = ("weights_for_sync", "broadcast_weights")


class TrainingGroupError(RuntimeError):
    """A rank of a training group failed or died; the group cannot go on."""


def merge_results(how: str, results: Sequence, num_rows: int = 0):
    """The ranks' results as the role's one result: ``rows`` (a tensor split by ``row_shares``), ``mean``
    (update statistics) or ``first`` (rank 0's)."""
    if how == "rows":
        return merge_rows(results, num_rows)
    if how == "mean":
        return mean_stats(results)
    return results[0]


@ray.remote(num_cpus=0, max_retries=0)
def gather_ranks(role: str, method: str, how: str, rank_refs: List, num_rows: int = 0):
    """Wait for every rank's call (``rank_refs``, wrapped in a list so Ray does not resolve them first), failing
    on the first rank that failed; then ``merge_results``."""
    index_of = {ref: index for index, ref in enumerate(rank_refs)}
    pending = list(rank_refs)
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        try:
            ray.get(ready[0])
        except ray.exceptions.RayError as error:
            raise TrainingGroupError(
                f"{role}: rank {index_of[ready[0]]} of {len(rank_refs)} failed in {method}: {error}; the group "
                "stops (restart the run with run.resume=auto to continue from its last checkpoint)") from None
    return merge_results(how, ray.get(list(rank_refs)), num_rows)


@ray.remote(num_cpus=0, max_retries=0)
def meeting_address(address: tuple, *ranks_ready) -> tuple:
    """Rank 0's ``(host, port)`` once every rank is constructed (Ray resolves ``ranks_ready`` first), so that no
    rank waits in the rendezvous while a slow peer is still loading its model."""
    return address


class _GroupMethod:
    """``group.method.remote(...)`` → one ``ObjectRef``, like an actor method."""

    def __init__(self, call: Callable):
        self._call = call

    def remote(self, *args, **kwargs):
        return self._call(*args, **kwargs)


class TrainingGroup:
    """N actors of one role, addressed like one actor handle (see the module docstring)."""

    def __init__(self, role: str, ranks: List, joined: Sequence = (), gathers_weights: bool = False):
        self.role = role
        self.ranks = list(ranks)
        self._joined = list(joined)  # the ranks' ``join_training_group`` calls, awaited by ``__ray_ready__``
        self.gathers_weights = gathers_weights  # ZeRO-3: every rank takes part in a weight sync

    @classmethod
    def start(cls, role: str, make_rank: Callable[[int], object], world_size: int,
              collective: bool = True, gathers_weights: bool = False) -> "TrainingGroup":
        """Create the ranks (``make_rank(rank)`` returns an actor handle) and, with ``collective``, have every rank
        join the process group at rank 0's address; returns without waiting (``__ray_ready__`` waits).
        ``gathers_weights``: the ranks hold ZeRO-3 partitions, so every rank takes part in a weight sync."""
        ranks = [make_rank(rank) for rank in range(world_size)]
        joined = []
        if collective:  # the address ref is resolved by Ray before each join call runs
            address = meeting_address.remote(ranks[0].training_group_address.remote(),
                                             *[rank.__ray_ready__.remote() for rank in ranks])
            joined = [rank.join_training_group.remote(address) for rank in ranks]
        return cls(role, ranks, joined, gathers_weights)

    def _gather(self, method: str, how: str, calls: List, num_rows: int = 0):
        return gather_ranks.remote(self.role, method, how, calls, num_rows)

    def _on_every_rank(self, method: str, how: str = "first") -> _GroupMethod:
        return _GroupMethod(lambda *args: self._gather(
            method, how, [getattr(rank, method).remote(*args) for rank in self.ranks]))

    def _split_rows(self, method: str) -> _GroupMethod:
        def call(prompt_ids, response_ids):
            shares = row_shares(len(prompt_ids), len(self.ranks))
            calls = [getattr(rank, method).remote(take_rows(prompt_ids, share), take_rows(response_ids, share))
                     for rank, share in zip(self.ranks, shares)]
            return self._gather(method, "rows", calls, len(prompt_ids))
        return _GroupMethod(call)

    @property
    def __ray_ready__(self) -> _GroupMethod:
        """Every rank constructed (and, in a process group, joined: a join runs after its rank's constructor)."""
        return _GroupMethod(lambda: self._gather(
            "start-up", "first", self._joined or [rank.__ray_ready__.remote() for rank in self.ranks]))

    @property
    def update(self) -> _GroupMethod:
        def call(batch, seed: int):
            shared = ray.put(batch)  # one copy in the object store for all the ranks
            return self._gather("update", "mean", [rank.update.remote(shared, seed) for rank in self.ranks])
        return _GroupMethod(call)

    @property
    def logprobs(self) -> _GroupMethod:
        return self._split_rows("logprobs")

    @property
    def values(self) -> _GroupMethod:
        return self._split_rows("values")

    @property
    def save_state(self) -> _GroupMethod:
        return self._on_every_rank("save_state")

    @property
    def load_state(self) -> _GroupMethod:
        return self._on_every_rank("load_state")

    @property
    def save_pretrained(self) -> _GroupMethod:
        return self._on_every_rank("save_pretrained")


    @property
    def _actor_id(self):
        return self.ranks[0]._actor_id

    def __getattr__(self, method: str):
        if method.startswith("__") or method in ("role", "ranks", "_joined", "gathers_weights"):
            raise AttributeError(method)
        if method in WEIGHT_SYNC_METHODS and self.gathers_weights:  # ZeRO-3: a collective of every rank
            return self._on_every_rank(method)
        return getattr(self.ranks[0], method)  # rank 0 holds whole weights (ZeRO-0/1/2)

    def kill(self) -> None:
        for rank in self.ranks:
            ray.kill(rank, no_restart=True)
