"""The config sections other sections build on: how a model is named and built (``ModelConfig``) and how a
supervised stage trains (``TrainingConfig``). ``schema.py`` re-exports both."""

from __future__ import annotations

from dataclasses import dataclass

from pro_rl.config.fields import AT_LEAST_ONE, FRACTION, NON_NEGATIVE, POSITIVE, TINY_VOCAB, _field


@dataclass
class TrainingConfig:
    learning_rate: float = _field(1e-5, "AdamW learning rate.", POSITIVE)
    weight_decay: float = _field(0.0, "AdamW weight decay.", NON_NEGATIVE)
    batch_size: int = _field(32, "Examples per optimizer step.", AT_LEAST_ONE)
    micro_batch_size: int = _field(0, "Examples per forward pass (0: the whole batch).", NON_NEGATIVE)
    epochs: float = _field(1.0, "Passes over the training data (fractions allowed).", POSITIVE)
    max_steps: int = _field(0, "Stop after this many optimizer steps (0: no limit beyond epochs).", NON_NEGATIVE)
    min_steps: int = _field(0, "Train at least this many optimizer steps, with more passes over small data (0: epochs decide; max_steps still caps).", NON_NEGATIVE)
    max_length: int = _field(512, "Token limit of one input (prompt and response together).", AT_LEAST_ONE)
    eval_fraction: float = _field(0.1, "Fraction of the data held out for evaluation.", FRACTION)
    warmup_steps: int = _field(0, "Linear learning-rate warm-up steps.", NON_NEGATIVE)
    gradient_clipping: float = _field(1.0, "Global gradient-norm clipping (0: off).", NON_NEGATIVE)


@dataclass
class ModelConfig:
    model: str = _field("", "Hub id, local directory, 'tiny:<arch>' for a tiny model built from config, or 'module:function' (rewards only).")
    tokenizer: str = _field("", "Tokenizer hub id or directory (empty: the model's own; tiny models train one in code).")
    tiny_hidden_size: int = _field(64, "Hidden size of a tiny model.", AT_LEAST_ONE)
    tiny_layers: int = _field(2, "Number of layers of a tiny model.", AT_LEAST_ONE)
    tiny_heads: int = _field(2, "Attention heads of a tiny model.", AT_LEAST_ONE)
    tiny_vocab_size: int = _field(1024, "Vocabulary size of the tokenizer trained in code for tiny models.", TINY_VOCAB)
    tiny_tokenizer_corpus: str = _field("toy_world", "Texts the tokenizer of a tiny model is trained on: 'toy_world' (the shipped world's corpus) or 'run_data' (the texts this run trains the model on: a reward model's pairs, the orchestrator's general-pair prompts, the policy's prompts and SFT rows). Recorded in the saved tokenizer_config.json.")
    dtype: str = _field("auto", "'auto', 'float32', 'bfloat16' or 'float16'.")
