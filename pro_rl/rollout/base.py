"""The rollout interface: n sampled responses per prompt, whatever engine produces them.

Step 2 of one RL step ("generate") goes through a ``RolloutEngine``. The transformers backend
(``pro_rl.rollout.hf.HFRolloutEngine``, CPU and GPU) and the vLLM backend (GPU) implement the same two methods and
read the same ``SamplingSettings``, so a config switches backends with ``rollout.backend`` alone.

Layout of a ``Rollouts``: flat lists of length B * n, the n samples of a prompt contiguous
([p0s0, p0s1, ..., p0s(n-1), p1s0, ...]) — the order ``rloo_advantages`` and ``select_best_worst`` expect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Protocol, Sequence, runtime_checkable

import torch

from pro_rl.data.truncation import TruncationMonitor, count_truncated


@dataclass
class SamplingSettings:
    """How responses are sampled; the same fields drive every backend."""

    temperature: float = 0.8  # 0 means greedy decoding
    top_p: float = 0.95  # nucleus sampling; 1.0 keeps every token
    top_k: int = 0  # 0 turns top-k off
    max_new_tokens: int = 128  # generated tokens per response, eos included
    min_new_tokens: int = 0  # eos is held back until this many tokens (benchmarks set it to max_new_tokens)

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"rollout temperature must be >= 0, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"rollout top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"rollout top_k must be >= 0 (0: off), got {self.top_k}")
        if self.max_new_tokens < 1:
            raise ValueError(f"rollout max_new_tokens must be >= 1, got {self.max_new_tokens}")
        if not 0 <= self.min_new_tokens <= self.max_new_tokens:
            raise ValueError(f"rollout min_new_tokens must be in [0, max_new_tokens={self.max_new_tokens}], "
                             f"got {self.min_new_tokens}")

    @classmethod
    def from_config(cls, rollout_config) -> "SamplingSettings":
        """The sampling fields of a ``RolloutConfig``."""
        return cls(
            temperature=float(rollout_config.temperature),
            top_p=float(rollout_config.top_p),
            top_k=int(rollout_config.top_k),
            max_new_tokens=int(rollout_config.max_new_tokens),
        )


@dataclass(frozen=True)
class RolloutPlacement:
    """Which backend the rollout engines run and how they share the GPU with the policy (read from the config).

    ``sleep_mode``: vLLM engines in the policy's placement-group bundle (``resources.rollout.colocate_with: policy``,
    or both roles anchored on the same third role) release their weights and KV cache while the policy updates.
    """

    backend: str = "hf"
    tensor_parallel_size: int = 1
    sleep_mode: bool = False

    @classmethod
    def from_config(cls, config) -> "RolloutPlacement":
        resources = config.resources
        if config.rollout.backend != "vllm":
            return cls(backend=config.rollout.backend)
        shares_policy_bundle = (resources.rollout.colocate_with or "rollout") == (resources.policy.colocate_with
                                                                                  or "policy")
        return cls(backend="vllm", tensor_parallel_size=int(config.rollout.tensor_parallel_size),
                   sleep_mode=shares_policy_bundle and resources.rollout.num_gpus > 0)


def truncated_prompt_batch(tokenizer, prompts: Sequence[str], max_prompt_length: int,
                           truncation: Optional[TruncationMonitor] = None) -> list[list[int]]:
    """The ids an engine conditions on: each tokenised prompt, cut from the left to ``max_prompt_length`` tokens
    (the end of a prompt, where the assistant turn starts, is what matters). ``truncation`` (when given) records
    how many were cut, once per call (it warns on the first cut, then at most once every ``truncation.every``
    calls)."""
    full_ids = []
    for prompt in prompts:
        token_ids = list(tokenizer(prompt)["input_ids"])
        if not token_ids:
            raise ValueError(f"prompt {prompt!r} tokenises to no tokens")
        full_ids.append(token_ids)
    if truncation is not None:
        truncation.record(count_truncated([len(ids) for ids in full_ids], max_prompt_length))
    return [ids[-max_prompt_length:] for ids in full_ids]


def prompt_truncation_monitor() -> TruncationMonitor:
    """The monitor of an engine's RL prompts (cut on the left to ``policy.max_prompt_length``)."""
    return TruncationMonitor("RL prompts", "policy.max_prompt_length", "left")


@dataclass
class Rollouts:
    """Sampled responses, one row per (prompt, sample), the n samples of a prompt contiguous.

    Attributes:
        prompts: (B * n) prompt strings, each prompt repeated n times.
        responses: (B * n) responses decoded without special tokens.
        prompt_ids: (B * n) token ids of the prompt as the engine saw it (left-truncated), no padding.
        response_ids: (B * n) sampled token ids, ending with eos when the model emitted it; no padding.
        num_samples: n.
        logprobs: (B * n) per-token log-probs of each response under the weights that sampled it (the behaviour
            policy, at the sampling temperature), when the caller asked for them (``behaviour_logprobs=True``);
            else ``None``.
    """

    prompts: list[str]
    responses: list[str]
    prompt_ids: list[list[int]]
    response_ids: list[list[int]]
    num_samples: int
    logprobs: Optional[list[list[float]]] = None

    def __post_init__(self) -> None:
        sizes = {len(self.prompts), len(self.responses), len(self.prompt_ids), len(self.response_ids)}
        if len(sizes) != 1:
            raise ValueError(
                f"Rollouts fields differ in length: prompts {len(self.prompts)}, responses {len(self.responses)}, "
                f"prompt_ids {len(self.prompt_ids)}, response_ids {len(self.response_ids)}"
            )
        if self.num_samples < 1 or len(self.prompts) % self.num_samples:
            raise ValueError(f"{len(self.prompts)} rollouts cannot hold {self.num_samples} samples per prompt")
        if self.logprobs is not None and [len(row) for row in self.logprobs] != [len(ids) for ids in self.response_ids]:
            raise ValueError("Rollouts.logprobs must hold one log-prob per response token")

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def num_prompts(self) -> int:
        return len(self.prompts) // self.num_samples


@runtime_checkable
class RolloutEngine(Protocol):
    """What the rollout role needs from a generation backend (transformers ``generate`` here, vLLM on GPU)."""

    def generate(self, prompts: Sequence[str], num_samples: int, seed: Optional[int] = None,
                 behaviour_logprobs: bool = False) -> Rollouts:
        """``num_samples`` responses for each prompt; the same ``seed`` gives the same responses. With
        ``behaviour_logprobs`` the rollouts carry each response token's log-prob under the engine's weights, at the
        sampling temperature over the whole vocabulary (the trainer's definition, ``response_logprobs``)."""
        ...

    def load_weights(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Replace the engine's policy weights (the sync after each update)."""
        ...
