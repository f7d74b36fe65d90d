"""Checks of the keys that let a run bring its own world: ``data.prompt_format`` and every model section's
``tiny_tokenizer_corpus``. ``prompt_format: chat`` needs a chat template: the reward models' tokenizers in the
reward_models pipeline, the policy's elsewhere (driver-side prompts render with it); a tiny model without a
``tokenizer`` has none, which is an error here rather than at the first prompt. ``validate`` (``validation.py``)
calls ``validate_formats``; each failure is one ``ConfigError`` naming the key and the file.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any, Iterator, Tuple

from pro_rl.config.errors import fail, one_of
from pro_rl.config.sections import ModelConfig

PROMPT_FORMATS = ("auto", "plain", "hh", "chat")
TINY_TOKENIZER_CORPORA = ("toy_world", "run_data")


def model_sections(node: Any, prefix: str = "") -> Iterator[Tuple[str, ModelConfig]]:
    """(dotted key, section) of every ``ModelConfig`` in the config, list entries included."""
    if isinstance(node, ModelConfig):
        yield prefix.rstrip("."), node
    if isinstance(node, list):
        for index, entry in enumerate(node):
            yield from model_sections(entry, f"{prefix}{index}.")
    elif is_dataclass(node):
        for field in fields(node):
            yield from model_sections(getattr(node, field.name), f"{prefix}{field.name}.")


def chat_renderers(config) -> Iterator[Tuple[str, ModelConfig]]:
    """(key, section) of the models whose tokenizers render prompts in the config's pipeline."""
    if config.pipeline == "reward_models":
        yield from ((f"reward_models.{i}", spec) for i, spec in enumerate(config.reward_models) if ":" not in spec.model
                    or spec.model.startswith("tiny:"))
    else:
        yield "policy", config.policy


def validate_formats(config, origin: str) -> None:
    """``data.prompt_format`` and each ``<section>.tiny_tokenizer_corpus`` are among their choices."""
    one_of(origin, "data.prompt_format", config.data.prompt_format, PROMPT_FORMATS)
    if config.data.prompt_format == "chat":
        for key, section in chat_renderers(config):
            if section.model.startswith("tiny:") and not section.tokenizer:
                fail(origin, "data.prompt_format", f"'chat' needs a chat template, but {key} is the tiny model "
                     f"'{section.model}' whose tokenizer has none; set {key}.tokenizer or use hh or plain")
    for key, section in model_sections(config):
        one_of(origin, f"{key}.tiny_tokenizer_corpus", section.tiny_tokenizer_corpus, TINY_TOKENIZER_CORPORA)
