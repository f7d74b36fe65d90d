"""Rendering a run's prompts in its ``data.prompt_format`` where no model tokenizer is at hand.

Stages that hold the tokenizer of the model that reads the prompts (reward-model training, SFT, ``pro-rl generate``)
pass it to ``pro_rl.data.formats.render_prompt``. The driver-side stages (the orchestrator's D_rm, the RL and
evaluation prompts, PRO-WIC, SGA) render prompts before any model loads; for them ``render_prompts`` uses
``prompt_tokenizer``: the policy's tokenizer (``policy.tokenizer`` or ``policy.model``) when the format is ``chat``
— the policy is the model those prompts are written for — and no tokenizer for the other formats, which need none.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, List, Optional

from pro_rl.data.formats import render_prompt


@lru_cache(maxsize=4)
def _pretrained_tokenizer(name: str):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(name)


def prompt_tokenizer(config) -> Optional[object]:
    """The policy's tokenizer when ``data.prompt_format`` is ``chat``, else None; a tiny policy without a
    ``policy.tokenizer`` is a ValueError (the tiny tokenizer has no chat template)."""
    if config.data.prompt_format != "chat":
        return None
    spec = config.policy
    if spec.model.startswith("tiny:") and not spec.tokenizer:
        raise ValueError("data.prompt_format 'chat': the tiny policy's tokenizer has no chat template; set "
                         "policy.tokenizer to one that has, or use prompt_format hh or plain")
    return _pretrained_tokenizer(spec.tokenizer or spec.model)


def render_prompts(config, prompts: Iterable, tokenizer=None) -> List[str]:
    """``prompts`` rendered in ``config.data.prompt_format`` with ``tokenizer`` (default ``prompt_tokenizer``)."""
    if tokenizer is None:
        tokenizer = prompt_tokenizer(config)
    return [render_prompt(prompt, tokenizer, config.data.prompt_format) for prompt in prompts]
