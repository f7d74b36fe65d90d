"""Model builders: policy, reward model, orchestrator, critic — real checkpoints or tiny models from configs.

A model spec (``ModelConfig.model``) is one of
- a hub id or a local directory: loaded with the matching ``AutoModelFor...`` class;
- ``tiny:<arch>`` (``tiny:gpt2``, ``tiny:llama``, ``tiny:xlm-roberta``): a randomly initialised model of the
  config's tiny sizes, with the tokenizer trained in code (``pro_rl.models.tokenizer``); nothing is downloaded;
- ``module:function`` (reward objectives only): a Python function, see ``pro_rl.models.reward``.

Reward models are ``AutoModelForSequenceClassification`` with ``num_labels=1`` (real ones such as
``Ray2333/gpt2-large-harmless-reward_model`` load as they are); the orchestrator is a sequence classifier with
K labels named after the objectives, whose softmax lies on the simplex.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Callable, Iterable, Optional, Sequence, Tuple

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from pro_rl.config.schema import TINY_CAUSAL_ARCHS, TINY_ENCODER_ARCHS, ModelConfig
from pro_rl.config.validation import is_function_spec  # noqa: F401  (re-exported: models and training use it)
from pro_rl.models.tokenizer import train_tiny_tokenizer

TINY_PREFIX = "tiny:"
CAUSAL_ARCHS = TINY_CAUSAL_ARCHS
ENCODER_ARCHS = TINY_ENCODER_ARCHS

ModelAndTokenizer = Tuple[PreTrainedModel, PreTrainedTokenizerBase]


def is_tiny(spec: str) -> bool:
    return spec.startswith(TINY_PREFIX)


def load_function(spec: str) -> Callable:
    """Import ``module:function``; a clear error when either part is missing."""
    module_name, _, function_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"reward function '{spec}': cannot import module '{module_name}': {error}") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"reward function '{spec}': module '{module_name}' has no function '{function_name}'")
    return function


def _dtype(name: str) -> Optional[torch.dtype]:
    return {"auto": None, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def _tiny_config(spec: ModelConfig, tokenizer: PreTrainedTokenizerBase, **extra) -> "AutoConfig":
    arch = spec.model[len(TINY_PREFIX):]
    size = dict(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id)
    if arch == "gpt2":
        return AutoConfig.for_model("gpt2", n_embd=spec.tiny_hidden_size, n_layer=spec.tiny_layers,
                                    n_head=spec.tiny_heads, n_positions=512, **size, **extra)
    if arch in ("llama", "qwen2"):
        return AutoConfig.for_model(arch, hidden_size=spec.tiny_hidden_size, num_hidden_layers=spec.tiny_layers,
                                    num_attention_heads=spec.tiny_heads, num_key_value_heads=spec.tiny_heads,
                                    intermediate_size=spec.tiny_hidden_size * 4, max_position_embeddings=512,
                                    tie_word_embeddings=True, **size, **extra)
    if arch in ENCODER_ARCHS:
        return AutoConfig.for_model(arch, hidden_size=spec.tiny_hidden_size, num_hidden_layers=spec.tiny_layers,
                                    num_attention_heads=spec.tiny_heads, intermediate_size=spec.tiny_hidden_size * 4,
                                    max_position_embeddings=514, type_vocab_size=1, **size, **extra)
    raise ValueError(f"unknown tiny architecture '{arch}' in '{spec.model}'; use one of {CAUSAL_ARCHS + ENCODER_ARCHS}")


def load_tokenizer(spec: ModelConfig, kind: str = "causal", texts: Optional[Iterable[str]] = None) -> PreTrainedTokenizerBase:
    """The tokenizer of a spec: trained in code for tiny models (on ``texts``, else the toy world's corpus), else
    the checkpoint's (or ``spec.tokenizer``). A tiny spec with ``tiny_tokenizer_corpus: run_data`` needs ``texts``
    (the run's own, ``pro_rl.models.tiny_corpus``): without them it is a ValueError."""
    if is_tiny(spec.model) and not spec.tokenizer:
        run_data = getattr(spec, "tiny_tokenizer_corpus", "toy_world") == "run_data"
        if run_data and texts is None:
            raise ValueError(f"tiny_tokenizer_corpus 'run_data' of '{spec.model}': this stage has no run data to "
                             "train the tokenizer on; set tiny_tokenizer_corpus: toy_world or train the model first")
        return train_tiny_tokenizer(texts, vocab_size=spec.tiny_vocab_size, kind=kind,
                                    corpus_name="run_data" if run_data else "")
    tokenizer = AutoTokenizer.from_pretrained(spec.tokenizer or spec.model)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def build_policy(spec: ModelConfig, texts: Optional[Iterable[str]] = None) -> ModelAndTokenizer:
    """A causal LM and its tokenizer (left padding, for generation)."""
    tokenizer = load_tokenizer(spec, "causal", texts)
    tokenizer.padding_side = "left"
    if is_tiny(spec.model):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(_tiny_config(spec, tokenizer))
    else:
        model = AutoModelForCausalLM.from_pretrained(spec.model, dtype=_dtype(spec.dtype))
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def load_policy(source: str, spec: ModelConfig, texts: Optional[Iterable[str]] = None) -> ModelAndTokenizer:
    """The policy from ``source`` (a directory, hub id or ``tiny:<arch>``) with the other fields of ``spec``,
    dropout switched off (RL ratios against old log-probs must not be noisy). ``texts``: a tiny tokenizer's corpus."""
    model, tokenizer = build_policy(replace(spec, model=source), texts)
    disable_dropout(model)
    return model, tokenizer


def disable_dropout(model: torch.nn.Module) -> None:
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0


def build_reward_model(spec: ModelConfig, texts: Optional[Iterable[str]] = None) -> ModelAndTokenizer:
    """A sequence classifier with one reward logit (``num_labels=1``), or a real reward checkpoint as it is.

    The tokenizer pads on the right: the classifier reads the last non-pad token, and right padding keeps every
    text at the positions it has alone (left padding would shift them, as no position ids are passed).
    """
    tokenizer = load_tokenizer(spec, "causal", texts)
    tokenizer.padding_side = "right"
    if is_tiny(spec.model):
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_config(_tiny_config(spec, tokenizer, num_labels=1))
    else:
        model = AutoModelForSequenceClassification.from_pretrained(spec.model, dtype=_dtype(spec.dtype))
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def build_critic(spec: ModelConfig, texts: Optional[Iterable[str]] = None) -> ModelAndTokenizer:
    """A value model for PPO: the policy's architecture with a one-logit token classification head."""
    from transformers import AutoModelForTokenClassification

    tokenizer = load_tokenizer(spec, "causal", texts)
    tokenizer.padding_side = "left"
    if is_tiny(spec.model):
        torch.manual_seed(1)
        model = AutoModelForTokenClassification.from_config(_tiny_config(spec, tokenizer, num_labels=1))
    else:
        model = AutoModelForTokenClassification.from_pretrained(spec.model, num_labels=1, dtype=_dtype(spec.dtype))
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def build_orchestrator(spec: ModelConfig, objectives: Sequence[str], texts: Optional[Iterable[str]] = None) -> ModelAndTokenizer:
    """The Preference Orchestrator: a K-label sequence classifier (xlm-roberta by default) named by objective."""
    objectives = list(objectives)
    labels = dict(num_labels=len(objectives), id2label=dict(enumerate(objectives)),
                  label2id={name: index for index, name in enumerate(objectives)})
    tokenizer = load_tokenizer(spec, "encoder", texts)
    if is_tiny(spec.model):
        torch.manual_seed(0)
        model = AutoModelForSequenceClassification.from_config(_tiny_config(spec, tokenizer, **labels))
    else:
        model = AutoModelForSequenceClassification.from_pretrained(spec.model, dtype=_dtype(spec.dtype), **labels)
    return model, tokenizer
