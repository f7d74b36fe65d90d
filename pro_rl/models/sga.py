"""The SGA dual-head policy: a causal LM plus a regression head that predicts K scores in [0, 1] from the prompt.

**Where the head reads.** A prompt x is split by ``pro_rl.data.conditioning.sga_split`` into a *prefix* (the
conversation up to the user turn's end, i.e. before the final ``\\n\\nAssistant:``; the whole prompt when it has no
such marker) and a *suffix* (that marker, or nothing). The conditioned prompt is ``prefix + score text + suffix``.
The head reads the final-layer hidden state of the **last token of the prefix**. Token ids are built as
``tokens(prefix) + tokens(score text + suffix)`` (``sga_prompt_ids``), so the prefix's tokens are a prefix of the
conditioned prompt's tokens, and under causal attention with position ids counted over real tokens the hidden
state at that position is the same whether the model sees the prefix alone or the whole conditioned prompt and
response. Hence:

- training (``pro_rl.training.sga``) takes the head's input from the same forward pass that gives the LM's
  logits on the conditioned prompt + response (``SGAPolicy.forward(..., score_positions=...)``);
- inference runs one prefill of the prefix: ``scores_at_last_token(head, hidden_states, attention_mask)`` gives ŝ
  (left or right padding), and the conditioned prompt continues from that prefill's KV cache — no second pass over
  the prompt. ``sense_scores`` is that prefill for a list of prompts (without the generation part).

(The score text starts with a newline, so byte-level BPE tokenisers do not merge across the boundary; the tests
check that ``tokens(prefix) + tokens(rest)`` equals ``tokens(prefix + rest)`` on the toy world's prompts.)

**Head.** ``ScoreHead``: ``num_layers`` linear layers (hidden ``hidden_size``, ReLU between them) and a sigmoid,
so every output lies in [0, 1] (SGA's code: 3 layers, hidden 1024).

**On disk.** ``save_sga_policy`` writes the LM in Hugging Face layout (transformers and vLLM load the directory as
the plain LM; LoRA adapters merged) and beside it ``sga_head.safetensors`` and ``sga_head.json`` (sizes and the
objectives in score order). ``is_sga_policy`` tells such a directory apart; ``load_sga_policy`` loads LM, head and
tokenizer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from pro_rl.config.schema import ModelConfig
from pro_rl.data.conditioning import sga_score_text, sga_split

HEAD_WEIGHTS_FILE = "sga_head.safetensors"
HEAD_CONFIG_FILE = "sga_head.json"
SCORES_FILE = "sga_scores.json"  # how the targets were made and the inference defaults (written by training)


@dataclass
class HeadSpec:
    """What a score head is: its input width (the LM's hidden size), sizes, and the objectives it scores."""

    input_size: int
    objectives: List[str]
    hidden_size: int = 1024
    num_layers: int = 3


class ScoreHead(nn.Module):
    """MLP (``num_layers`` linear layers, ReLU between) with a sigmoid: (..., input_size) → (..., K) in [0, 1]."""

    def __init__(self, spec: HeadSpec):
        super().__init__()
        if spec.num_layers < 1 or not spec.objectives:
            raise ValueError(f"a score head needs ≥ 1 layer and ≥ 1 objective, got {spec}")
        self.spec = spec
        widths = [spec.input_size] + [spec.hidden_size] * (spec.num_layers - 1) + [len(spec.objectives)]
        layers: List[nn.Module] = []
        for index, (width_in, width_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers.append(nn.Linear(width_in, width_out))
            if index < spec.num_layers - 1:
                layers.append(nn.ReLU())
        self.mlp = nn.Sequential(*layers)

    def forward(self, hidden: Tensor) -> Tensor:
        return torch.sigmoid(self.mlp(hidden.to(self.mlp[0].weight.dtype)))


def build_score_head(lm: nn.Module, objectives: Sequence[str], hidden_size: int, num_layers: int,
                     seed: int = 0) -> ScoreHead:
    """A fresh head for ``lm`` (its ``config.hidden_size``), initialised from ``seed``."""
    torch.manual_seed(seed)
    return ScoreHead(HeadSpec(lm.config.hidden_size, list(objectives), hidden_size, num_layers))


@dataclass
class SGAOutput:
    """LM logits (N, T, V) and, when reading positions were given, the head's scores (N, K)."""

    logits: Tensor
    scores: Optional[Tensor] = None


class SGAPolicy(nn.Module):
    """LM + score head as one module, so that one optimizer (one ``TrainEngine``) trains both."""

    def __init__(self, lm: nn.Module, head: ScoreHead):
        super().__init__()
        self.lm = lm
        self.head = head

    def gradient_checkpointing_enable(self, **kwargs) -> None:
        """Recompute the LM's activations in the backward pass (``trainer.gradient_checkpointing``)."""
        self.lm.gradient_checkpointing_enable(**kwargs)

    def forward(self, input_ids: Tensor, attention_mask: Tensor, position_ids: Optional[Tensor] = None,
                score_positions: Optional[Tensor] = None) -> SGAOutput:
        """Logits of every position; with ``score_positions`` (N,) column indices, also the head's scores read
        from the final hidden state at those columns (one forward pass for both)."""
        outputs = self.lm(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                          output_hidden_states=score_positions is not None)
        if score_positions is None:
            return SGAOutput(outputs.logits)
        return SGAOutput(outputs.logits, scores_at(self.head, outputs.hidden_states[-1], score_positions))


def scores_at(head: ScoreHead, hidden_states: Tensor, positions: Tensor) -> Tensor:
    """The head's scores (N, K) from ``hidden_states`` (N, T, H) at column ``positions[n]`` of each row."""
    rows = torch.arange(hidden_states.shape[0], device=hidden_states.device)
    return head(hidden_states[rows, positions.to(hidden_states.device).long()])


def last_token_positions(attention_mask: Tensor) -> Tensor:
    """(N,) column of each row's last real token (largest column with mask 1): left or right padding alike."""
    columns = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    return (attention_mask.long() * (columns + 1)).argmax(dim=1)


def scores_at_last_token(head: ScoreHead, hidden_states: Tensor, attention_mask: Tensor) -> Tensor:
    """ŝ (N, K) from a prefill of the prompts' prefixes: the head on each row's last real token's hidden state.

    Args:
        head: the score head.
        hidden_states: (N, T, H) final-layer hidden states of the prefill (``output_hidden_states=True``, last entry).
        attention_mask: (N, T), 1 at real tokens, padding on either side.
    """
    return scores_at(head, hidden_states, last_token_positions(attention_mask))


def sga_prompt_ids(tokenizer, prompt: str, objectives: Sequence[str], scores: Sequence[float],
                   max_tokens: int) -> Tuple[List[int], int]:
    """Token ids of the conditioned prompt and the index of the prefix's last token in them (the head's input).

    ids = tokens(prefix)[-room:] + tokens(score text + suffix): the prefix loses its first tokens when the whole
    would exceed ``max_tokens``; the score text and suffix are kept whole.
    """
    prefix, suffix = sga_split(prompt)
    prefix_ids = prefix_token_ids(tokenizer, prefix)
    rest_ids = tokenizer(sga_score_text(objectives, scores) + suffix, add_special_tokens=False)["input_ids"]
    room = max_tokens - len(rest_ids)
    if room < 1:
        raise ValueError(f"the score text and '{suffix.strip()}' take {len(rest_ids)} tokens, leaving no room for "
                         f"the prompt within {max_tokens} tokens (raise policy.max_prompt_length)")
    prefix_ids = prefix_ids[-room:]
    return prefix_ids + rest_ids, len(prefix_ids) - 1


def prefix_token_ids(tokenizer, prefix: str) -> List[int]:
    """Token ids of a prompt's prefix (at least one token: an empty prefix reads the eos token)."""
    ids = tokenizer(prefix, add_special_tokens=False)["input_ids"]
    return ids or [tokenizer.eos_token_id]


@torch.no_grad()
def sense_scores(lm: nn.Module, head: ScoreHead, tokenizer, prompts: Sequence[str], batch_size: int = 16,
                 max_tokens: int = 512) -> Tensor:
    """ŝ (B, K) for rendered prompts: one forward pass over each prompt's prefix (``sga_split``), left-padded,
    positions counted over real tokens; prefixes keep their last ``max_tokens`` tokens."""
    device = next(lm.parameters()).device
    parts = []
    for start in range(0, len(prompts), batch_size):
        ids = [prefix_token_ids(tokenizer, sga_split(p)[0])[-max_tokens:] for p in prompts[start:start + batch_size]]
        width = max(len(row) for row in ids)
        input_ids = torch.tensor([[tokenizer.pad_token_id] * (width - len(row)) + row for row in ids], device=device)
        mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in ids], device=device)
        positions = (mask.cumsum(dim=1) - 1).clamp(min=0)
        outputs = lm(input_ids=input_ids, attention_mask=mask, position_ids=positions, output_hidden_states=True)
        parts.append(scores_at_last_token(head, outputs.hidden_states[-1], mask).float().cpu())
    return torch.cat(parts) if parts else torch.zeros(0, len(head.spec.objectives))


# ---------------------------------------------------------------- save / load


def is_sga_policy(directory: str | Path) -> bool:
    """True when ``directory`` holds an SGA policy (the head's config and weights beside the LM)."""
    directory = Path(directory)
    return (directory / HEAD_CONFIG_FILE).is_file() and (directory / HEAD_WEIGHTS_FILE).is_file()


def save_sga_policy(directory: str | Path, policy: SGAPolicy, tokenizer=None) -> Path:
    """The LM in Hugging Face layout (LoRA merged, in place), the tokenizer, and the head beside them."""
    from safetensors.torch import save_file

    from pro_rl.models.lora import merged

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    merged(policy.lm).save_pretrained(directory, safe_serialization=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in policy.head.state_dict().items()}
    save_file(state, str(directory / HEAD_WEIGHTS_FILE))
    (directory / HEAD_CONFIG_FILE).write_text(json.dumps(asdict(policy.head.spec), indent=2) + "\n")
    return directory


def load_score_head(directory: str | Path) -> ScoreHead:
    """The head saved by ``save_sga_policy``; a directory without one is a FileNotFoundError naming it."""
    from safetensors.torch import load_file

    directory = Path(directory)
    if not is_sga_policy(directory):
        raise FileNotFoundError(f"{directory} is not an SGA policy: it has no {HEAD_CONFIG_FILE} and "
                                f"{HEAD_WEIGHTS_FILE} (train one with the sga_sft pipeline)")
    head = ScoreHead(HeadSpec(**json.loads((directory / HEAD_CONFIG_FILE).read_text())))
    head.load_state_dict(load_file(str(directory / HEAD_WEIGHTS_FILE)))
    return head


def load_sga_policy(directory: str | Path, spec: ModelConfig):
    """(lm, head, tokenizer) of a saved SGA policy; ``spec`` gives the other model fields (dtype, tokenizer)."""
    from pro_rl.models.builders import load_policy

    head = load_score_head(directory)
    lm, tokenizer = load_policy(str(directory), spec)
    if head.spec.input_size != lm.config.hidden_size:
        raise ValueError(f"{directory}: the head reads {head.spec.input_size} features but the LM's hidden size is "
                         f"{lm.config.hidden_size}")
    return lm, head, tokenizer
