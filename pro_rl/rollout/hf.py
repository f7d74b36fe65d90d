"""Rollouts with transformers ``generate``: the CPU backend (it also runs on GPU), same interface as vLLM.

Prompts are tokenised one by one, cut from the left to ``max_prompt_length`` tokens (``base.truncated_prompt_batch``,
shared with the vLLM backend; it warns with counts when prompts are cut), left-padded into chunks, each row repeated
n times, and decoded by ``generate``. A temperature of 0 decodes greedily. Otherwise the next token is drawn by our
own last logits processor (``generate_sampling_kwargs``: temperature, top-k and top-p are transformers' warpers, the
draw is inverse transform sampling, one uniform number per row) and ``generate``'s greedy step picks it up.
Transformers' own ``do_sample`` draw (``torch.multinomial``) makes one exponential random number per vocabulary entry
and per step, slow on CPU: this draw takes 12-18 % off the CPU time of the tiny policy's ``generate`` call
(``bench/generate_gap.py``). A response keeps the tokens up to and including the first eos; everything ``generate``
put after it is padding.
"""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch
from transformers import (LogitsProcessor, LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper,
                          TopPLogitsWarper)

from pro_rl.rollout.base import Rollouts, SamplingSettings, prompt_truncation_monitor, truncated_prompt_batch
from pro_rl.rollout.weight_sync import IpcHandles, tensors_from_ipc


def generate_sampling_kwargs(settings: SamplingSettings) -> dict:
    """The sampling keyword arguments of ``generate`` for ``settings``, one row per sample (``generate`` decodes
    greedily and so refuses ``num_return_sequences``; repeat each prompt's row instead). At temperature 0 that is
    greedy decoding; otherwise ``logits_processor`` holds the temperature, top-k and top-p warpers (only those that
    change the distribution, as ``generate`` would add them) and the draw (``_InverseCdfDraw``), which leaves one
    finite score per row. ``min_new_tokens`` only when asked (even 0 makes ``generate`` add a per-token min-length
    processor)."""
    sampling = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
    if settings.temperature > 0:
        sampling["logits_processor"] = _sampling_processors(settings)
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

    def generate(self, prompts: Sequence[str], num_samples: int, seed: Optional[int] = None,
                 behaviour_logprobs: bool = False) -> Rollouts:
        """``num_samples`` responses per prompt, the samples of a prompt contiguous; seeded runs repeat exactly.

        ``behaviour_logprobs``: also each response token's log-prob under this engine's weights, from one
        teacher-forced pass of the model over the sampled sequences with the trainer's own function
        (``pro_rl.training.sequences.response_logprobs``, at the sampling temperature), so that they equal what the
        policy would compute with the same weights.
        """
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
        repeated_prompt_ids = [list(ids) for ids in prompt_ids for _ in range(num_samples)]
        return Rollouts(
            prompts=[prompt for prompt in prompts for _ in range(num_samples)],
            responses=self.tokenizer.batch_decode(response_ids, skip_special_tokens=True),
            prompt_ids=repeated_prompt_ids,
            response_ids=response_ids,
            num_samples=num_samples,
            logprobs=self._logprobs(repeated_prompt_ids, response_ids) if behaviour_logprobs else None,
        )

    @torch.no_grad()
    def _logprobs(self, prompt_ids: list[list[int]], response_ids: list[list[int]]) -> list[list[float]]:
        """Per-token log-probs of the sampled responses under this engine's weights (unpadded rows)."""
        from pro_rl.training.sequences import make_sequence_batch, response_logprobs

        batch = make_sequence_batch(prompt_ids, response_ids, self.tokenizer.pad_token_id).to(self.device)
        logprobs = response_logprobs(self.model, batch, self.batch_size, self.settings.temperature).float()
        return [row[:len(ids)].tolist() for row, ids in zip(logprobs.cpu(), response_ids)]

    @torch.no_grad()
    def _sample(self, prompt_ids: list[list[int]], num_samples: int) -> list[list[int]]:
        """Responses for one chunk of prompts: left-pad, ``generate``, cut each row after its first eos."""
        width = max(len(ids) for ids in prompt_ids)
        pad, eos = self.tokenizer.pad_token_id, self.tokenizer.eos_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for ids in prompt_ids], device=self.device)
        attention_mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompt_ids],
                                      device=self.device)
        sequences = self.model.generate(  # a prompt's samples in contiguous rows
            input_ids=input_ids.repeat_interleave(num_samples, dim=0),
            attention_mask=attention_mask.repeat_interleave(num_samples, dim=0),
            max_new_tokens=self.settings.max_new_tokens, pad_token_id=pad, eos_token_id=eos,
            **generate_sampling_kwargs(self.settings),
        )
        return [cut_at_eos(row, eos) for row in sequences[:, width:].tolist()]


def _sampling_processors(settings: SamplingSettings) -> LogitsProcessorList:
    """Temperature, top-k and top-p warpers where they change the distribution (``generate``'s own conditions and
    order), then the draw."""
    processors = LogitsProcessorList()
    if settings.temperature != 1.0:
        processors.append(TemperatureLogitsWarper(settings.temperature))
    if settings.top_k:
        processors.append(TopKLogitsWarper(top_k=settings.top_k))
    if settings.top_p < 1.0:
        processors.append(TopPLogitsWarper(top_p=settings.top_p))
    processors.append(_InverseCdfDraw())
    return processors


class _InverseCdfDraw(LogitsProcessor):
    """The last logits processor of sampling: draws each row's next token from ``softmax(scores)`` and returns
    ``scores`` as 0 for that token and -inf for every other one, so that greedy selection returns the draw.

    Inverse transform sampling: one uniform number u in (0, 1] per row, scaled by the row's total probability, and
    the first token whose cumulative probability reaches it. A token of probability 0 (masked by top-k or top-p)
    adds nothing to the cumulative sum, so it is never the first to reach u > 0. Random numbers come from the
    default generator of ``scores``' device (``torch.manual_seed`` repeats a draw). NaN logits raise ``ValueError``
    (as transformers' own draw does).
    """

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        cumulative = scores.float().softmax(dim=-1).cumsum(dim=-1)  # float32: a bf16 sum over the vocabulary drifts
        if torch.isnan(cumulative[:, -1]).any():
            raise ValueError("the policy's next-token logits hold NaN; sampling cannot draw from them")
        uniform = 1.0 - torch.rand(scores.shape[0], 1, device=scores.device, dtype=cumulative.dtype)
        drawn = torch.searchsorted(cumulative, uniform * cumulative[:, -1:]).clamp_(max=scores.shape[-1] - 1)
        return torch.full_like(scores, float("-inf")).scatter_(-1, drawn, 0.0)
