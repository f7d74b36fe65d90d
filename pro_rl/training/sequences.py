"""Prompt + response batches for the policy, reference and critic forward passes.

Layout of a ``SequenceBatch`` of N rows: the prompt left-padded to width P, then the response right-padded to width R,

    input_ids      [pad pad p1 p2 p3 | r1 r2 eos pad]
    attention_mask [ 0   0  1  1  1 |  1  1  1   0 ]
    position_ids   [ 0   0  0  1  2 |  3  4  5   5 ]
    response_mask                    [ 1  1  1   0 ]

so every prompt ends at column P - 1 and the logits at column P - 1 + t predict response token t. Position ids
count real tokens only (as ``generate`` does with left padding), which makes a padded row score exactly like the
same sequence alone. Masks are built from the lengths, never from the pad id: a sampled token may equal it.

Log-probs are taken from logits divided by the sampling temperature, so that they are the probabilities the
responses were sampled with (as the peers do).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Sequence

import torch
from torch import Tensor

from pro_rl.algorithms import sequence_token_logprobs


@dataclass
class SequenceBatch:
    """N prompt + response rows; see the module docstring for the layout.

    Attributes:
        input_ids: (N, P + R) token ids.
        attention_mask: (N, P + R) 1 at real tokens.
        position_ids: (N, P + R) positions counted over real tokens.
        response_mask: (N, R) float, 1 at response tokens.
        prompt_width: P.
    """

    input_ids: Tensor
    attention_mask: Tensor
    position_ids: Tensor
    response_mask: Tensor
    prompt_width: int

    def __len__(self) -> int:
        return self.input_ids.shape[0]

    @property
    def response_width(self) -> int:
        return self.response_mask.shape[1]

    @property
    def response_ids(self) -> Tensor:
        """(N, R) the response tokens (padding included; mask with ``response_mask``)."""
        return self.input_ids[:, self.prompt_width:]

    def select(self, indices: Tensor | Sequence[int]) -> "SequenceBatch":
        """The rows ``indices`` (widths unchanged)."""
        indices = torch.as_tensor(indices, dtype=torch.long, device=self.input_ids.device)
        return SequenceBatch(self.input_ids[indices], self.attention_mask[indices], self.position_ids[indices],
                             self.response_mask[indices], self.prompt_width)

    def to(self, device: str | torch.device) -> "SequenceBatch":
        tensors = {f.name: getattr(self, f.name).to(device) for f in fields(self) if f.name != "prompt_width"}
        return SequenceBatch(prompt_width=self.prompt_width, **tensors)


def make_sequence_batch(prompt_ids: Sequence[Sequence[int]], response_ids: Sequence[Sequence[int]],
                        pad_token_id: int) -> SequenceBatch:
    """Pad unpadded prompt and response ids (e.g. from ``Rollouts``) into a ``SequenceBatch``.

    Every prompt needs at least one token (its last one predicts the first response token); responses may be empty.
    """
    if len(prompt_ids) != len(response_ids) or not prompt_ids:
        raise ValueError(f"need as many prompts as responses (and at least one); got {len(prompt_ids)} and "
                         f"{len(response_ids)}")
    empty = [row for row, ids in enumerate(prompt_ids) if len(ids) == 0]
    if empty:
        raise ValueError(f"prompts at rows {empty[:5]} have no tokens")
    prompt_width = max(len(ids) for ids in prompt_ids)
    response_width = max(len(ids) for ids in response_ids)
    rows, masks, response_masks = [], [], []
    for prompt, response in zip(prompt_ids, response_ids):
        left, right = prompt_width - len(prompt), response_width - len(response)
        rows.append([pad_token_id] * left + list(prompt) + list(response) + [pad_token_id] * right)
        masks.append([0] * left + [1] * (len(prompt) + len(response)) + [0] * right)
        response_masks.append([1.0] * len(response) + [0.0] * right)
    attention_mask = torch.tensor(masks, dtype=torch.long)
    position_ids = (attention_mask.cumsum(dim=1) - 1).clamp(min=0)
    return SequenceBatch(
        input_ids=torch.tensor(rows, dtype=torch.long),
        attention_mask=attention_mask,
        position_ids=position_ids,
        response_mask=torch.tensor(response_masks, dtype=torch.float32).reshape(len(rows), response_width),
        prompt_width=prompt_width,
    )


def response_mask(response_ids: Sequence[Sequence[int]]) -> Tensor:
    """(N, R) float32 mask of unpadded responses right-padded to the longest (R): 1 at response tokens."""
    width = max((len(ids) for ids in response_ids), default=0)
    return torch.tensor([[1.0] * len(ids) + [0.0] * (width - len(ids)) for ids in response_ids],
                        dtype=torch.float32).reshape(len(response_ids), width)


def _response_outputs(model, batch: SequenceBatch) -> Tensor:
    """(N, R, ...) the model's outputs (``.logits``) at the positions that predict each response token."""
    outputs = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask, position_ids=batch.position_ids)
    start = batch.prompt_width - 1
    return outputs.logits[:, start:start + batch.response_width]


def _micro_batches(batch: SequenceBatch, micro_batch_size: int) -> list[SequenceBatch]:
    size = micro_batch_size or len(batch)
    if size >= len(batch):
        return [batch]
    return [batch.select(torch.arange(start, min(start + size, len(batch)))) for start in range(0, len(batch), size)]


def response_logprobs(model, batch: SequenceBatch, micro_batch_size: int = 0, temperature: float = 1.0) -> Tensor:
    """log pi(y_t | x, y_<t) of every response token.

    Args:
        model: a causal LM, or a ``TrainEngine`` wrapping one (called with input_ids, attention_mask, position_ids).
        batch: the sequences, on the model's device.
        micro_batch_size: rows per forward pass (0: all at once).
        temperature: the sampling temperature; logits are divided by it (must be > 0).

    Returns:
        (N, R) log-probs, 0 where ``response_mask`` is 0. Differentiable unless the caller is under ``no_grad``.
    """
    if temperature <= 0:
        raise ValueError(f"log-probs need a temperature > 0, got {temperature}")
    parts = []
    for micro in _micro_batches(batch, micro_batch_size):
        logits = _response_outputs(model, micro)
        if temperature != 1.0:
            logits = logits / temperature
        token_logprobs = sequence_token_logprobs(logits, micro.response_ids)
        parts.append(torch.where(micro.response_mask.bool(), token_logprobs, torch.zeros_like(token_logprobs)))
    return torch.cat(parts, dim=0)


def response_values(critic, batch: SequenceBatch, micro_batch_size: int = 0) -> Tensor:
    """The critic's value V_t at the position that predicts each response token (the state before token t).

    Args:
        critic: a one-label token-classification model (``build_critic``), or a ``TrainEngine`` wrapping one.
        batch: the sequences, on the critic's device.
        micro_batch_size: rows per forward pass (0: all at once).

    Returns:
        (N, R) float values, 0 where ``response_mask`` is 0.
    """
    parts = []
    for micro in _micro_batches(batch, micro_batch_size):
        values = _response_outputs(critic, micro)[..., 0].float()
        parts.append(torch.where(micro.response_mask.bool(), values, torch.zeros_like(values)))
    return torch.cat(parts, dim=0)
