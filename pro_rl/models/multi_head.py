"""MOSLIM's multi-head classification reward model (MOSLIM §2.2, Fig. 2): one backbone, one softmax head per objective.

The model is an ordinary transformers sequence classifier with ``num_labels = Σ_k n_k``; its logits are split into
one consecutive slice per objective (``pro_rl.algorithms.moslim.split_head_logits``), each a softmax over that
objective's intensity classes 1..n_k. The head layout (ordered objective → n_k) is stored in the model config as
``moslim_heads``, a list of ``[objective, n_k]`` pairs (a list, because config.json is written with sorted keys and
a dict would lose the order), and the labels are named ``"<objective> <n>"``), so a saved directory stays a plain Hugging Face
checkpoint that ``AutoModelForSequenceClassification`` loads as it is.

Like the per-objective reward models (``build_reward_model``) the classifier reads ``prompt + response + eos`` with
right padding and no added special tokens (a causal backbone classifies at the last real token). Prompts given to
it must already be stripped of MOSLIM tags ("prompt alignment", §3.2).
"""

from __future__ import annotations

from typing import Dict, Iterable, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from pro_rl.algorithms.moslim import head_probabilities_from_logits, head_slices
from pro_rl.config.schema import ModelConfig
from pro_rl.data.formats import join_prompt_response
from pro_rl.data.truncation import TruncationCount, TruncationMonitor, encode_counted
from pro_rl.models.builders import _dtype, _tiny_config, is_tiny, load_tokenizer
from pro_rl.models.scoring import default_device

HEADS_KEY = "moslim_heads"


def _label_names(heads: Mapping[str, int]) -> Dict[str, dict]:
    names = [f"{objective} {level}" for objective, levels in heads.items() for level in range(1, int(levels) + 1)]
    return dict(num_labels=len(names), id2label=dict(enumerate(names)),
                label2id={name: index for index, name in enumerate(names)})


def build_multi_head_classifier(spec: ModelConfig, heads: Mapping[str, int],
                                texts: Optional[Iterable[str]] = None) -> Tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A sequence classifier with Σ n_k labels and ``config.moslim_heads = heads`` (tiny from config, or a hub id /
    directory whose classification head is re-initialised to the new width)."""
    heads = {objective: int(levels) for objective, levels in heads.items()}
    head_slices(heads)  # checks every head has at least one class
    labels = _label_names(heads)
    tokenizer = load_tokenizer(spec, "causal", texts)
    tokenizer.padding_side = "right"
    if is_tiny(spec.model):
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_config(_tiny_config(spec, tokenizer, **labels))
    else:
        model = AutoModelForSequenceClassification.from_pretrained(spec.model, dtype=_dtype(spec.dtype),
                                                                   ignore_mismatched_sizes=True, **labels)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    setattr(model.config, HEADS_KEY, [[objective, levels] for objective, levels in heads.items()])
    return model, tokenizer


def read_heads(config) -> Dict[str, int]:
    """The head layout stored in a model config; a clear error when the model is not a MOSLIM classifier."""
    layout = getattr(config, HEADS_KEY, None)
    if not isinstance(layout, (list, tuple)) or not layout or not all(len(pair) == 2 for pair in layout):
        raise ValueError(f"not a MOSLIM multi-head classifier: its config has no '{HEADS_KEY}' head layout")
    heads = {str(objective): int(levels) for objective, levels in layout}
    if sum(heads.values()) != config.num_labels:
        raise ValueError(f"head layout {heads} (Σ n_k = {sum(heads.values())}) does not match the model's "
                         f"{config.num_labels} labels")
    return heads


def load_multi_head_classifier(path: str, device: str = "cpu") -> Tuple[PreTrainedModel, PreTrainedTokenizerBase, Dict[str, int]]:
    """(model in eval mode on ``device``, tokenizer with right padding, heads {objective: n_k}) from a directory
    written by ``save_pretrained``."""
    model = AutoModelForSequenceClassification.from_pretrained(path)
    heads = read_heads(model.config)
    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(default_device(device)).eval()
    return model, tokenizer, heads


def classifier_texts(tokenizer: PreTrainedTokenizerBase, prompts: Sequence[str], responses: Sequence[str]) -> list:
    """``prompt + response + eos`` per pair (``join_prompt_response``): what the classifier reads, in training and
    in scoring alike."""
    if len(prompts) != len(responses):
        raise ValueError(f"{len(prompts)} prompts but {len(responses)} responses")
    eos = tokenizer.eos_token or ""
    return [join_prompt_response(prompt, response) + eos for prompt, response in zip(prompts, responses)]


def encode_texts(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int, device) -> dict:
    """Right-padded, truncated token batch of ``texts`` (no special tokens added), on ``device``."""
    return tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True, max_length=max_length,
                     add_special_tokens=False).to(device)


@torch.no_grad()
def head_probabilities(model, tokenizer, heads: Mapping[str, int], prompts: Sequence[str], responses: Sequence[str],
                       batch_size: int = 16, max_length: int = 512,
                       truncation: Optional[TruncationMonitor] = None) -> Dict[str, Tensor]:
    """Per-head intensity distributions {objective: (N, n_k) float32 on CPU} for N (prompt, response) pairs.

    ``prompts`` must already be stripped of MOSLIM tags. Row i of head k is softmax(z_k) (MOSLIM eq. 7). Texts
    longer than ``max_length`` tokens are cut as ``encode_texts`` cuts them; ``truncation`` records how many.
    """
    texts = classifier_texts(tokenizer, prompts, responses)
    device = next(model.parameters()).device
    chunks = {objective: [] for objective in heads}
    count = TruncationCount(0, 0, 0, max_length)
    for start in range(0, len(texts), batch_size):
        batch, batch_count = encode_counted(tokenizer, texts[start:start + batch_size], max_length,
                                            add_special_tokens=False)
        batch, count = batch.to(device), count + batch_count
        for objective, probabilities in head_probabilities_from_logits(model(**batch).logits, heads).items():
            chunks[objective].append(probabilities.cpu())
    if truncation is not None:
        truncation.record(count)
    return {objective: torch.cat(parts) if parts else torch.zeros(0, int(heads[objective]))
            for objective, parts in chunks.items()}
