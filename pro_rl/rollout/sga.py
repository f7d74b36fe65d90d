"""SGA generation: sense the scores ŝ from the raw prompt and answer the score-conditioned prompt, in one prefill.

SGA's inference (paper §3.3): the score head predicts ŝ ∈ [0, 1]^K from the prompt, ŝ may be snapped to the
annotation grid (``sga.snap_grid``), the prompt is conditioned on it (``sga_prompt``: prefix + score text + suffix,
see ``pro_rl.models.sga``) and the policy samples (SGA's defaults: T 0.6, top-p 0.9). External steering replaces ŝ
with the user's scores; the head still runs (it costs nothing extra) and its ŝ is reported next to them.

**One prefill.** The tokens of the prefix are a token-prefix of the conditioned prompt, so a chunk of prompts costs:

1. one forward pass over the prefixes, left-padded to width P, position ids counted over real tokens, with the KV
   cache on and the final hidden states out → ŝ from the head at column P − 1 (every row's last prefix token);
2. the rests (score text + suffix, which depend on ŝ) are left-padded to width R *within their own block* and put
   after the prefixes: row i reads ``[pad…, prefix_i, pad…, rest_i]`` with the attention mask 0 on both kinds of
   padding. ``generate`` continues from the prefill's cache: it feeds only the R uncached columns, and takes the
   position ids from the attention mask (cumulative sum − 1), so every real token sits at the position it has in
   the unpadded conditioned prompt and the padding holes are never attended to. The tests check that the greedy
   output equals, token for token, a plain ``generate`` on the left-padded conditioned prompts for the tiny gpt2,
   llama and qwen2 builders.

With n samples per prompt, the rows and the cache are repeated n times (``batch_repeat_interleave``) after the
prefill, so the prompt is still read once per prompt (``generate`` expands its inputs for ``num_return_sequences``
but not a cache given to it).

Truncation: a prefix keeps its last ``max_prompt_length`` tokens (as ``sense_scores`` does); the score text and the
suffix (tens of tokens) come on top, whole — the rests are not known before the prefill, and a cached prefix
cannot lose tokens afterwards. Cut prefixes are warned with counts (``prompt_truncation``, first cut and then at
most once every 100 calls).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from pro_rl.algorithms.sga import snap_scores
from pro_rl.data.conditioning import sga_prompt, sga_score_text, sga_split
from pro_rl.data.truncation import TruncationMonitor, count_truncated
from pro_rl.models.sga import ScoreHead, prefix_token_ids, scores_at_last_token
from pro_rl.rollout.base import Rollouts, SamplingSettings
from pro_rl.rollout.hf import cut_at_eos, generate_sampling_kwargs


@dataclass
class SGARollouts:
    """Responses of an SGA policy and the scores behind them.

    Attributes:
        rollouts: the responses (``prompts`` are the conditioned prompts), n samples per prompt contiguous.
        sensed: (B, K) the head's ŝ on each raw prompt (before snapping).
        scores: (B, K) the scores each prompt was conditioned on (snapped ŝ, or the given ones).
    """

    rollouts: Rollouts
    sensed: Tensor
    scores: Tensor


def left_padded(rows: Sequence[Sequence[int]], pad_id: int, device) -> Tuple[Tensor, Tensor]:
    """(ids (N, W), mask (N, W)) of token rows left-padded to the longest one."""
    width = max(len(row) for row in rows)
    ids = torch.tensor([[pad_id] * (width - len(row)) + list(row) for row in rows], device=device)
    mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows], device=device)
    return ids, mask


class SGAGenerator:
    """An SGA policy (LM + score head) that senses, conditions and samples; see the module docstring.

    Args:
        lm: the causal LM; head: its score head (objectives in score order).
        tokenizer: needs ``pad_token_id`` and ``eos_token_id``.
        settings: sampling settings (temperature 0: greedy).
        max_prompt_length: tokens kept of each prompt's prefix (from the left).
        snap_grid: snap sensed scores to multiples of 1/snap_grid (0: off); given scores are used as they are.
        batch_size: sequences (prompts × samples) per ``generate`` call.
    """

    def __init__(self, lm, head: ScoreHead, tokenizer, settings: SamplingSettings, max_prompt_length: int = 512,
                 device: str | torch.device = "cpu", snap_grid: int = 0, batch_size: int = 64):
        if tokenizer.pad_token_id is None or tokenizer.eos_token_id is None:
            raise ValueError("the SGA tokenizer needs both a pad token and an eos token")
        self.device = torch.device(device)
        self.lm = lm.to(self.device).eval()
        self.head = head.to(self.device).eval()
        self.tokenizer = tokenizer
        self.settings = settings
        self.max_prompt_length = max_prompt_length
        self.snap_grid = snap_grid
        self.batch_size = batch_size
        self.objectives = list(head.spec.objectives)
        self.prompt_truncation = TruncationMonitor("SGA prompt prefixes", "policy.max_prompt_length", "left")

    def generate(self, prompts: Sequence[str], num_samples: int = 1,
                 scores: Optional[Sequence[Sequence[float]]] = None, seed: Optional[int] = None) -> SGARollouts:
        """``num_samples`` responses per rendered prompt, conditioned on the sensed ŝ (``scores`` None) or on
        ``scores`` (one K-vector per prompt)."""
        if num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {num_samples}")
        if scores is not None and (len(scores) != len(prompts) or any(len(s) != len(self.objectives) for s in scores)):
            raise ValueError(f"need one vector of {len(self.objectives)} scores {self.objectives} per prompt")
        if seed is not None:
            torch.manual_seed(seed)
        prompts = list(prompts)
        per_call = max(1, self.batch_size // num_samples)
        sensed, used, prompt_ids, response_ids = [], [], [], []
        for start in range(0, len(prompts), per_call):
            chunk = prompts[start:start + per_call]
            given = None if scores is None else torch.tensor([list(s) for s in scores[start:start + per_call]])
            chunk_sensed, chunk_used, chunk_prompt_ids, chunk_responses = self._chunk(chunk, given, num_samples)
            sensed.append(chunk_sensed)
            used.append(chunk_used)
            prompt_ids.extend(ids for ids in chunk_prompt_ids for _ in range(num_samples))
            response_ids.extend(chunk_responses)
        used_scores = torch.cat(used)
        conditioned = [sga_prompt(prompt, self.objectives, row.tolist()) for prompt, row in zip(prompts, used_scores)]
        rollouts = Rollouts(prompts=[text for text in conditioned for _ in range(num_samples)],
                            responses=self.tokenizer.batch_decode(response_ids, skip_special_tokens=True),
                            prompt_ids=prompt_ids, response_ids=response_ids, num_samples=num_samples)
        return SGARollouts(rollouts, torch.cat(sensed), used_scores)

    @torch.no_grad()
    def prefill(self, prefixes: Sequence[str]):
        """One forward pass over the left-padded prefixes: (ids, mask, {cache keyword: KV cache}, ŝ (N, K) float32 on
        the CPU); the keyword is what this transformers calls the cache (``cache`` in 5.x, ``past_key_values`` in 4.x)."""
        full_rows = [prefix_token_ids(self.tokenizer, prefix) for prefix in prefixes]
        self.prompt_truncation.record(count_truncated([len(row) for row in full_rows], self.max_prompt_length))
        rows = [row[-self.max_prompt_length:] for row in full_rows]
        ids, mask = left_padded(rows, self.tokenizer.pad_token_id, self.device)
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        outputs = self.lm(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                          output_hidden_states=True)
        sensed = scores_at_last_token(self.head, outputs.hidden_states[-1], mask).float().cpu()
        cache_name = "cache" if "cache" in outputs else "past_key_values"
        return ids, mask, {cache_name: outputs[cache_name]}, sensed

    def rest_ids(self, suffix: str, scores: Sequence[float]) -> List[int]:
        """Token ids of what follows the prefix in the conditioned prompt: the score text and the suffix."""
        return self.tokenizer(sga_score_text(self.objectives, scores) + suffix, add_special_tokens=False)["input_ids"]

    @torch.no_grad()
    def _chunk(self, prompts: Sequence[str], given: Optional[Tensor], num_samples: int):
        """(ŝ, used scores, prompt ids without padding, response ids) of one chunk; see the module docstring."""
        splits = [sga_split(prompt) for prompt in prompts]
        prefix_ids, prefix_mask, cache, sensed = self.prefill([prefix for prefix, _ in splits])
        used = snap_scores(sensed, self.snap_grid) if given is None else given.float()
        rests = [self.rest_ids(suffix, row.tolist()) for (_, suffix), row in zip(splits, used)]
        rest_ids, rest_mask = left_padded(rests, self.tokenizer.pad_token_id, self.device)
        input_ids = torch.cat([prefix_ids, rest_ids], dim=1)
        attention_mask = torch.cat([prefix_mask, rest_mask], dim=1)
        if num_samples > 1:
            input_ids = input_ids.repeat_interleave(num_samples, dim=0)
            attention_mask = attention_mask.repeat_interleave(num_samples, dim=0)
            next(iter(cache.values())).batch_repeat_interleave(num_samples)
        sequences = self.lm.generate(input_ids=input_ids, attention_mask=attention_mask,
                                     max_new_tokens=self.settings.max_new_tokens, pad_token_id=self.tokenizer.pad_token_id,
                                     eos_token_id=self.tokenizer.eos_token_id, **generate_sampling_kwargs(self.settings), **cache)
        eos = self.tokenizer.eos_token_id
        responses = [cut_at_eos(row, eos) for row in sequences[:, input_ids.shape[1]:].tolist()]
        prompt_rows = [ids[mask.bool()].tolist() for ids, mask in zip(input_ids[::num_samples],
                                                                      attention_mask[::num_samples])]
        return sensed, used, prompt_rows, responses


