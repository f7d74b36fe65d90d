"""Typed payloads of one RL step: the experience every algorithm starts from and the update batches it builds.

``Experience`` is assembled once per step by the driver (rollouts, the scalarised reward of eq. 9, which samples
are valid, reference / old-policy log-probs, critic values). An algorithm's ``build_update`` turns it into
``UpdateBatches``: one policy batch (a ``PolicyGradientBatch`` or a ``PreferenceBatch``, or a class of the
algorithm's own), an optional ``CriticBatch`` and advantage statistics. The actors read these by attribute.

Shapes: N = B * n rows (the n samples of a prompt contiguous), R the longest response, P pairs (one per prompt).
Token ids travel unpadded (lists of lists); the actor pads them on its own device (``make_sequence_batch``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from torch import Tensor

from pro_rl.rollout.base import Rollouts
from pro_rl.training.sequences import response_mask

IdLists = List[List[int]]


@dataclass
class Experience:
    """One step's rollouts and what the stages learned about them.

    Attributes:
        rollouts: the N sampled responses (``Rollouts``).
        scalarised_reward: (N,) r = sum_k w_k(x) R_k (eq. 9); 0 for invalid samples.
        valid: (N,) bool, False where a reward was NaN/inf and ``on_bad_reward: skip`` kept the sample out.
        ref_logprobs: (N, R) per-token log-probs under the reference model (0 at padding).
        old_logprobs: (N, R) the same under the policy that sampled, when the algorithm asks for them.
        values: (N, R) the critic's values, when the algorithm has a critic.
    """

    rollouts: Rollouts
    scalarised_reward: Tensor
    valid: Tensor
    ref_logprobs: Tensor
    old_logprobs: Optional[Tensor] = None
    values: Optional[Tensor] = None

    def __len__(self) -> int:
        return len(self.rollouts)

    @property
    def num_samples(self) -> int:
        return self.rollouts.num_samples

    @property
    def response_mask(self) -> Tensor:
        """(N, R) float, 1 at response tokens."""
        return response_mask(self.rollouts.response_ids)


@dataclass
class PolicyGradientBatch:
    """A policy-gradient update (RLOO, PPO): sequences, the sampling policy's log-probs and the advantages.

    Attributes:
        prompt_ids, response_ids: N unpadded id lists each.
        old_logprobs: (N, R) per-token log-probs of the sampling policy.
        advantages: (N,) one per sequence (RLOO) or (N, R) per token (PPO).
    """

    prompt_ids: IdLists
    response_ids: IdLists
    old_logprobs: Tensor
    advantages: Tensor

    def __len__(self) -> int:
        return len(self.prompt_ids)


@dataclass
class CriticBatch:
    """A value-model update (PPO): sequences, the values at generation time and the value targets (N, R) each."""

    prompt_ids: IdLists
    response_ids: IdLists
    old_values: Tensor
    returns: Tensor

    def __len__(self) -> int:
        return len(self.prompt_ids)


@dataclass
class PreferenceBatch:
    """P (chosen, rejected) pairs (online DPO) with the reference's sequence-summed log-probs, (P,) each."""

    chosen_prompt_ids: IdLists
    chosen_response_ids: IdLists
    rejected_prompt_ids: IdLists
    rejected_response_ids: IdLists
    ref_chosen_logps: Tensor
    ref_rejected_logps: Tensor

    def __len__(self) -> int:
        return len(self.chosen_prompt_ids)

    def sequences(self) -> Tuple[IdLists, IdLists]:
        """(prompt ids, response ids) of the 2P sequences: the P chosen first, then the P rejected."""
        return (self.chosen_prompt_ids + self.rejected_prompt_ids,
                self.chosen_response_ids + self.rejected_response_ids)


@dataclass
class UpdateBatches:
    """What ``RLAlgorithm.build_update`` returns: the policy's batch, the critic's (or None) and statistics."""

    policy: object
    critic: Optional[CriticBatch] = None
    stats: Dict[str, float] = field(default_factory=dict)


def rows(ids: IdLists, index: Tensor) -> IdLists:
    """The id lists at ``index`` (a LongTensor of row numbers), in its order."""
    return [ids[i] for i in index.tolist()]
