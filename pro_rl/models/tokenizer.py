"""A tokenizer trained in code for tiny models, so that nothing is downloaded.

Byte-level BPE (``tokenizers``): every string — also text the training corpus never saw — maps to known tokens,
never to ``<unk>``. Two flavours share one vocabulary:

- ``causal``: no post-processor; the policy and reward models append ``</s>`` themselves.
- ``encoder``: a RoBERTa post-processor wraps every input as ``<s> ... </s>``, because xlm-roberta's
  classification head reads the first position (without ``<s>`` the "CLS" state is just the first word).

The corpus a tokenizer was trained on is recorded in it (``CORPUS_RECORD`` in ``tokenizer_config.json`` wherever it
is saved): ``{"corpus": "toy_world" | "run_data" | ..., "fingerprint": <12 hex>, "texts": <count>}``.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Iterable, Sequence, Tuple

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")
CORPUS_RECORD = "tiny_tokenizer_corpus"  # key of the corpus record in a saved tokenizer_config.json


@lru_cache(maxsize=8)
def _trained(vocab_size: int, texts: Tuple[str, ...]) -> str:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer.to_str()


def train_tiny_tokenizer(texts: Iterable[str] | None = None, vocab_size: int = 1024, kind: str = "causal",
                         corpus_name: str = "") -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained on ``texts`` (default: the toy world's corpus); deterministic.
    ``corpus_name`` is recorded with the corpus fingerprint (default: 'toy_world', or 'given' for ``texts``)."""
    if kind not in ("causal", "encoder"):
        raise ValueError(f"tokenizer kind must be 'causal' or 'encoder', got {kind!r}")
    if texts is None:
        from pro_rl.data.toy_world import corpus

        texts, corpus_name = corpus(), corpus_name or "toy_world"
    texts = tuple(texts)
    backend = Tokenizer.from_str(_trained(vocab_size, texts))
    if kind == "encoder":
        backend.post_processor = processors.RobertaProcessing(
            ("</s>", backend.token_to_id("</s>")), ("<s>", backend.token_to_id("<s>")), add_prefix_space=False
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        padding_side="left" if kind == "causal" else "right",
        truncation_side="left",
        model_max_length=4096,
    )
    tokenizer.init_kwargs[CORPUS_RECORD] = {"corpus": corpus_name or "given", "fingerprint": corpus_fingerprint(texts),
                                            "texts": len(texts)}
    return tokenizer


def corpus_fingerprint(texts: Sequence[str]) -> str:
    """A short hash of a corpus, to tell tokenizers trained on different texts apart in logs."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode())
    return digest.hexdigest()[:12]
