"""The texts a tiny model's tokenizer is trained on when its spec says ``tiny_tokenizer_corpus: run_data``.

A tiny tokenizer trained on the shipped toy world splits another world's words into many pieces; with ``run_data``
it is trained on the texts of the data files the run trains that model on:

- a reward model: its own preference pairs (prompt + chosen and prompt + rejected);
- the orchestrator: the prompts of the general pairs (``data.general_pairs``);
- the policy: the RL prompts (``data.prompts``) and the SFT rows (``data.sft``, prompt + response).

Each function returns ``None`` when the spec is not a tiny model with ``run_data`` (the builders then use the toy
world's corpus, or the checkpoint's own tokenizer), so callers pass the result on unconditionally. Prompts are
rendered without a tokenizer (strings as they are, messages in the plain Human/Assistant format): the corpus only
needs the words. The choice and a fingerprint of the texts are recorded in the saved ``tokenizer_config.json``
(``pro_rl.models.tokenizer.CORPUS_RECORD``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, List, Optional

from pro_rl.config.sections import ModelConfig
from pro_rl.data.formats import render_prompt, render_response

RUN_DATA = "run_data"
CORPUS_CHOICES = ("toy_world", RUN_DATA)


def wants_run_data(spec: ModelConfig) -> bool:
    """Whether ``spec`` builds a tiny model whose tokenizer is trained on the run's data."""
    return (spec.model.startswith("tiny:") and not spec.tokenizer
            and getattr(spec, "tiny_tokenizer_corpus", "toy_world") == RUN_DATA)


def run_corpus(spec: ModelConfig, texts: Callable[[], Iterable[str]]) -> Optional[List[str]]:
    """``texts()`` as a list when ``spec`` wants the run's data, else None (``texts`` is then never called)."""
    return list(texts()) if wants_run_data(spec) else None


def pair_texts(pairs) -> List[str]:
    """prompt + chosen and prompt + rejected of every pair (a ``datasets.Dataset`` or a list of row dicts)."""
    rows = pairs if isinstance(pairs, list) else pairs.to_list()
    texts = []
    for row in rows:
        prompt = render_prompt(row["prompt"])
        texts.extend(prompt + render_response(row[side]) for side in ("chosen", "rejected"))
    return texts


def prompt_texts(prompts: Iterable) -> List[str]:
    """Rendered prompts."""
    return [render_prompt(prompt) for prompt in prompts]


def policy_corpus(config, source: str = "") -> Optional[List[str]]:
    """The RL prompts and SFT rows of ``config`` when the policy built from ``source`` (default ``policy.model``)
    is tiny with ``run_data``; else None."""
    spec = replace(config.policy, model=source or config.policy.model)
    return run_corpus(spec, lambda: _policy_texts(config))


def _policy_texts(config) -> List[str]:
    from pro_rl.data.canonical import data_limits, load_prompts
    from pro_rl.training.sft import sft_rows

    texts: List[str] = []
    if config.data.prompts:
        texts.extend(prompt_texts(load_prompts(config.data.prompts, **data_limits(config.data))["prompt"]))
    if config.data.sft:
        texts.extend(render_prompt(prompt) + render_response(response)
                     for prompt, response in sft_rows(config.data.sft))
    if not texts:
        raise ValueError("policy.tiny_tokenizer_corpus 'run_data': data.prompts and data.sft are both empty")
    return texts
