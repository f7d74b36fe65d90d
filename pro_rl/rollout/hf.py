"""Rollouts with transformers ``generate``: the CPU backend (it also runs on GPU), same interface as vLLM.

Prompts are tokenised one by one, cut from the left to ``max_prompt_length`` tokens (``base.truncated_prompt_batch``,
shared with the vLLM backend; it warns with counts when prompts are cut), left-padded into chunks and sampled
with ``num_return_sequences = n`` (a temperature of 0 decodes greedily). A response keeps the tokens up to and
including the first eos; everything ``generate`` put after it is padding.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch

from pro_rl.rollout.base import Rollouts, SamplingSettings, prompt_truncation_monitor, truncated_prompt_batch
from pro_rl.rollout.weight_sync import IpcHandles, tensors_from_ipc


def generate_sampling_kwargs(settings: SamplingSettings) -> dict:
    """The sampling keyword arguments of ``generate`` for ``settings``: greedy at temperature 0, else sampling
    with temperature, top-p and top-k; ``min_new_tokens`` only when asked (even 0 makes ``generate`` add a per-token
    min-length processor)."""
    if settings.temperature == 0:
        sampling = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
    else:
        sampling = dict(do_sample=True, temperature=settings.temperature, top_p=settings.top_p, top_k=settings.top_k)
    if settings.min_new_tokens:
        sampling["min_new_tokens"] = settings.min_new_tokens
    return sampling


def cut_at_eos(token_ids: Sequence[int], eos_token_id: int) -> list[int]:
    """The tokens up to and including the first ``eos_token_id`` (all of them when there is none)."""
    token_ids = list(token_ids)
    if eos_token_id in token_ids:
        return token_ids[: token_ids.index(eos_token_id) + 1]
    return token_ids


class HFRolloutEngine:
    """A ``RolloutEngine`` on a Hugging Face causal LM.

    Args:
        model: the causal LM (its weights are replaced by ``load_weights``).
        tokenizer: its tokenizer; ``pad_token_id`` and ``eos_token_id`` must be set.
        settings: temperature, top-p, top-k and max_new_tokens.
        max_prompt_length: prompts longer than this many tokens keep their last ``max_prompt_length`` tokens.
        device: where the model runs.
        batch_size: sequences (prompts x samples) per ``generate`` call.
    """

    def __init__(self, model, tokenizer, settings: SamplingSettings, max_prompt_length: int = 512,
                 device: str | torch.device = "cpu", batch_size: int = 64):
        if tokenizer.pad_token_id is None or tokenizer.eos_token_id is None:
            raise ValueError("the rollout tokenizer needs both a pad token and an eos token")
        if max_prompt_length < 1 or batch_size < 1:
            raise ValueError(f"max_prompt_length ({max_prompt_length}) and batch_size ({batch_size}) must be >= 1")
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.settings = settings
        self.max_prompt_length = max_prompt_length
        self.batch_size = batch_size
        self.prompt_truncation = prompt_truncation_monitor()  # warns when prompts are cut

    def load_weights(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Copy ``state_dict`` (e.g. the trainer's ``module.state_dict()``) into the model; keys must match."""
        self.model.load_state_dict(state_dict, strict=True)

    def load_weights_from_ipc(self, handles: IpcHandles) -> None:
        """Copy the trainer's weights from CUDA IPC handles (the trainer shares this GPU), device to device."""
        with torch.no_grad():
            self.load_weights(tensors_from_ipc(handles))
        torch.cuda.synchronize(self.device)

    def generate(self, prompts: Sequence[str], num_samples: int, seed: Optional[int] = None) -> Rollouts:
        """``num_samples`` responses per prompt, the samples of a prompt contiguous; seeded runs repeat exactly."""
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if seed is not None:
            torch.manual_seed(seed)
        prompts = list(prompts)
        prompt_ids = truncated_prompt_batch(self.tokenizer, prompts, self.max_prompt_length, self.prompt_truncation)
        prompts_per_call = max(1, self.batch_size // num_samples)
        response_ids: list[list[int]] = []
        for start in range(0, len(prompts), prompts_per_call):
            response_ids.extend(self._sample(prompt_ids[start:start + prompts_per_call], num_samples))
        return Rollouts(
            prompts=[prompt for prompt in prompts for _ in range(num_samples)],
            responses=self.tokenizer.batch_decode(response_ids, skip_special_tokens=True),
            prompt_ids=[list(ids) for ids in prompt_ids for _ in range(num_samples)],
            response_ids=response_ids,
            num_samples=num_samples,
        )

    @torch.no_grad()
    def _sample(self, prompt_ids: list[list[int]], num_samples: int) -> list[list[int]]:
        """Responses for one chunk of prompts: left-pad, ``generate``, cut each row after its first eos."""
        width = max(len(ids) for ids in prompt_ids)
        pad, eos = self.tokenizer.pad_token_id, self.tokenizer.eos_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompt_ids], device=self.device)
        attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids],
                                      device=self.device)
        settings = self.settings
        sampling = generate_sampling_kwargs(settings)
        if settings.temperature == 0:  # greedy: generate refuses several return sequences, so repeat the rows
            input_ids = input_ids.repeat_interleave(num_samples, dim=0)
            attention_mask = attention_mask.repeat_interleave(num_samples, dim=0)
        else:
            sampling["num_return_sequences"] = num_samples
        sequences = self.model.generate(
            input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=settings.max_new_tokens,
            pad_token_id=pad, eos_token_id=eos, **sampling,
        )
        return [cut_at_eos(row, eos) for row in sequences[:, width:].tolist()]
