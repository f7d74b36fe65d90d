"""No silent truncation: count the texts a token limit cuts, warn with the counts, and stop when pairs lose their
difference.

Every model input has a token limit (``max_length``, ``max_prompt_length``); a text longer than it is cut, on the
tokenizer's ``truncation_side`` (prompts of the policy always on the left). Nothing is wrong with a cut as such, but a
limit set too low for the data silently removes the text a model should learn from — with the tiny defaults a reward
model can then see chosen and rejected cut to the same tokens. This module makes that visible:

- ``count_truncated`` / ``token_lengths`` measure how many texts of a batch or dataset exceed a limit (untruncated
  token counts, and the longest); ``measure_texts`` measures a dataset and warns, ``check_text_pairs`` does the same
  for a pair dataset and adds the identical-after-truncation check;
- ``truncation_message`` / ``warn_if_truncated`` give the one warning line, e.g. ``reward model 'helpful' training:
  812 of 1000 texts (81.2 %) longer than max_length 96 (longest 224) were truncated on the right; raise
  reward_models.0.training.max_length to keep them whole``;
- ``identical_after_truncation`` / ``check_identical_pairs`` count the pairs whose chosen and rejected texts differ
  but become identical once cut, and raise a one-line ``ConfigError`` when their share passes
  ``data.max_identical_pair_share`` (pairs identical before any cut are the data's own and are not counted);
- ``encode_counted`` tokenises a batch as ``tokenizer(..., truncation=True, max_length=...)`` does and counts the
  cut texts on the way: it tokenises once, without truncation, and cuts the too-long rows by hand as the tokenizer
  would (``cut_encoded``: its ``truncation_side``, the special tokens its post-processor adds kept at their ends, its
  ``padding_side``); a slow (Python) tokenizer, or keyword arguments other than ``add_special_tokens``, get the
  tokenizer's own second, truncating call instead;
- ``TruncationMonitor`` is for paths called at every step (reward scoring in RL, RL prompts, orchestrator weights):
  it warns on the first call that truncates, then at most once every ``every`` calls, each time with the counts
  since the start, so a run's log holds a handful of lines, not one per step.

Whole datasets (reward-model, orchestrator, SFT and pair data) are measured once, before training, with one warning
per dataset; the training steps then tokenise with truncation as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import torch
from transformers import BatchEncoding

from pro_rl.config.errors import ConfigError

logger = logging.getLogger("pro_rl.data")
IDENTICAL_SHARE_KEY = "data.max_identical_pair_share"


@dataclass(frozen=True)
class TruncationCount:
    """How many of ``total`` texts were longer than ``max_length`` tokens, and the longest (untruncated) length."""

    truncated: int
    total: int
    longest: int
    max_length: int

    def __add__(self, other: "TruncationCount") -> "TruncationCount":
        return TruncationCount(self.truncated + other.truncated, self.total + other.total,
                               max(self.longest, other.longest), other.max_length)


def count_truncated(lengths: Sequence[int], max_length: int) -> TruncationCount:
    """The ``TruncationCount`` of texts whose untruncated token counts are ``lengths``."""
    lengths = [int(length) for length in lengths]
    return TruncationCount(sum(length > max_length for length in lengths), len(lengths), max(lengths, default=0),
                           max_length)


def token_lengths(tokenizer, texts: Sequence[str], **encode_kwargs) -> List[int]:
    """Untruncated token counts of ``texts`` (one batched call; ``encode_kwargs`` as the model's own tokenisation,
    e.g. ``add_special_tokens=False``)."""
    if not texts:
        return []
    return [len(ids) for ids in tokenizer(list(texts), verbose=False, **encode_kwargs)["input_ids"]]


def measure_texts(tokenizer, texts: Sequence[str], max_length: int, what: str, key: str,
                  **encode_kwargs) -> TruncationCount:
    """Measure a dataset once before training and warn when the limit cuts any of its texts (on the tokenizer's
    ``truncation_side``); its ``TruncationCount``."""
    count = count_truncated(token_lengths(tokenizer, texts, **encode_kwargs), max_length)
    return warn_if_truncated(what, count, tokenizer.truncation_side, key)


def truncation_message(what: str, count: TruncationCount, side: str, key: str) -> str:
    """The one warning line for ``count`` (``what``: the model and stage, ``key``: the config key of the limit)."""
    share = 100.0 * count.truncated / max(count.total, 1)
    return (f"{what}: {count.truncated} of {count.total} texts ({share:.1f} %) longer than max_length "
            f"{count.max_length} (longest {count.longest}) were truncated on the {side}; "
            f"raise {key} to keep them whole")


def warn_if_truncated(what: str, count: TruncationCount, side: str, key: str) -> TruncationCount:
    """Log ``truncation_message`` as a warning when any text was cut; returns ``count``."""
    if count.truncated:
        logger.warning(truncation_message(what, count, side, key))
    return count


def cut(token_ids: Sequence[int], max_length: int, side: str) -> List[int]:
    """``token_ids`` cut to ``max_length`` tokens as a tokenizer with ``truncation_side=side`` cuts them."""
    if side not in ("left", "right"):
        raise ValueError(f"truncation side must be 'left' or 'right', got {side!r}")
    return list(token_ids[-max_length:] if side == "left" else token_ids[:max_length])


def identical_after_truncation(chosen: Sequence[Sequence[int]], rejected: Sequence[Sequence[int]],
                               chosen_cut: Sequence[Sequence[int]], rejected_cut: Sequence[Sequence[int]]) -> int:
    """How many pairs differ before the cut (``chosen``, ``rejected``) and are identical after it (``*_cut``)."""
    if not len(chosen) == len(rejected) == len(chosen_cut) == len(rejected_cut):
        raise ValueError(f"pair columns differ in length: {len(chosen)}, {len(rejected)}, {len(chosen_cut)}, "
                         f"{len(rejected_cut)}")
    return sum(list(a) != list(b) and list(a_cut) == list(b_cut)
               for a, b, a_cut, b_cut in zip(chosen, rejected, chosen_cut, rejected_cut))


def check_identical_pairs(what: str, identical: int, pairs: int, max_share: float, key: str, max_length: int) -> None:
    """Raise a one-line ``ConfigError`` naming ``key`` when more than ``max_share`` of ``pairs`` became identical."""
    if pairs and identical / pairs > max_share:
        raise ConfigError(
            f"key '{key}': {what}: {identical} of {pairs} pairs ({100.0 * identical / pairs:.1f} %) have chosen and "
            f"rejected identical after truncation to {max_length} tokens, more than {IDENTICAL_SHARE_KEY} "
            f"{max_share:g}; raise {key} (or {IDENTICAL_SHARE_KEY})")


def check_text_pairs(tokenizer, chosen: Sequence[str], rejected: Sequence[str], max_length: int, what: str, key: str,
                     max_identical_share: float, **encode_kwargs) -> TruncationCount:
    """Measure a pair dataset once before training: one warning for its cut texts (chosen and rejected together)
    and the identical-after-truncation check. Cuts on ``tokenizer.truncation_side``, as the training batches do
    (``encode_kwargs`` as those batches are tokenised; special tokens must be off for the cut to match)."""
    chosen_ids = tokenizer(list(chosen), verbose=False, **encode_kwargs)["input_ids"] if chosen else []
    rejected_ids = tokenizer(list(rejected), verbose=False, **encode_kwargs)["input_ids"] if rejected else []
    side = tokenizer.truncation_side
    count = count_truncated([len(ids) for ids in chosen_ids] + [len(ids) for ids in rejected_ids], max_length)
    warn_if_truncated(what, count, side, key)
    if count.truncated:
        identical = identical_after_truncation(chosen_ids, rejected_ids,
                                               [cut(ids, max_length, side) for ids in chosen_ids],
                                               [cut(ids, max_length, side) for ids in rejected_ids])
        check_identical_pairs(what, identical, len(chosen_ids), max_identical_share, key, max_length)
    return count


def encode_counted(tokenizer, texts: Sequence[str], max_length: int, **encode_kwargs) -> Tuple[dict, TruncationCount]:
    """(``tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt",
    **encode_kwargs)``, the ``TruncationCount`` of ``texts``). Tokenises once without truncation and cuts the rows
    longer than ``max_length`` with ``cut_encoded``; where that cannot reproduce the tokenizer's cut (it returns
    None) the tokenizer tokenises a second time, with truncation."""
    texts = list(texts)
    whole = tokenizer(texts, padding=True, return_tensors="pt", verbose=False, **encode_kwargs)
    lengths = whole["attention_mask"].sum(dim=1)
    count = count_truncated(lengths.tolist(), max_length)
    if not count.truncated:
        return whole, count
    batch = cut_encoded(tokenizer, whole, max_length, **encode_kwargs)
    if batch is None:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt",
                          **encode_kwargs)
    return batch, count


def cut_encoded(tokenizer, whole: BatchEncoding, max_length: int, **encode_kwargs) -> Optional[BatchEncoding]:
    """``whole`` (a fast tokenizer's padded, untruncated ``return_tensors="pt"`` batch) with every row longer than
    ``max_length`` cut as ``truncation=True, max_length=max_length`` cuts it: the text's tokens on the tokenizer's
    ``truncation_side``, the special tokens its post-processor added (``<s>``/``</s>``, CLS/SEP, BOS) kept at the
    ends, the rows padded again on its ``padding_side`` to the longest. None where that is not sure to be the
    tokenizer's own cut: a slow tokenizer (no ``encodings``), keyword arguments other than ``add_special_tokens``,
    outputs other than ids, attention mask, token type ids and special-tokens mask, a limit no longer than the
    special tokens, or rows whose special tokens do not sit as one block before and one after the text. The batch it
    returns holds the tensors only (no ``encodings``: offsets and word ids are the untruncated batch's)."""
    pad_values = {"input_ids": tokenizer.pad_token_id, "attention_mask": 0,
                  "token_type_ids": tokenizer.pad_token_type_id, "special_tokens_mask": 1}
    if whole.encodings is None or set(encode_kwargs) - {"add_special_tokens"} or set(whole.keys()) - set(pad_values) \
            or tokenizer.truncation_side not in ("left", "right"):
        return None
    added = tokenizer.num_special_tokens_to_add(pair=False) if encode_kwargs.get("add_special_tokens", True) else 0
    lengths = whole["attention_mask"].sum(dim=1)
    rows, padded_width = lengths.shape[0], whole["input_ids"].shape[1]
    starts = padded_width - lengths if tokenizer.padding_side == "left" else torch.zeros_like(lengths)
    layout = special_layout(whole, starts, lengths, max_length)
    if max_length <= added or layout is None or sum(layout) != added:
        return None
    before, after = layout
    kept = lengths.clamp(max=max_length)
    width = int(kept.max())
    position = torch.arange(width).expand(rows, width)  # position in the kept row, before padding
    if tokenizer.padding_side == "left":
        position = position - (width - kept)[:, None]
    valid = (position >= 0) & (position < kept[:, None])
    text_start = before if tokenizer.truncation_side == "right" else lengths - after - (kept - added)
    offset = torch.where(position < before, position,
                         torch.where(position < (kept - after)[:, None],
                                     position - before + torch.as_tensor(text_start).reshape(-1, 1),
                                     position + (lengths - kept)[:, None]))
    source = torch.where(valid, starts[:, None] + offset, 0)
    return BatchEncoding({key: torch.where(valid, values.gather(1, source), pad_values[key])
                          for key, values in whole.items()})


def special_layout(whole: BatchEncoding, starts, lengths, max_length: int) -> Optional[Tuple[int, int]]:
    """(special tokens before the text, after it) in each row of ``whole`` longer than ``max_length`` (``starts``,
    ``lengths``: where each row's tokens lie between the padding); None unless every such row has the same two
    blocks with only text between them."""
    layouts = set()
    for row in (lengths > max_length).nonzero().flatten().tolist():
        start, length = int(starts[row]), int(lengths[row])
        sequence_ids = whole.sequence_ids(row)[start:start + length]
        before = next((i for i, sequence in enumerate(sequence_ids) if sequence is not None), length)
        after = next((i for i, sequence in enumerate(reversed(sequence_ids)) if sequence is not None), length)
        if sequence_ids.count(None) != before + after:
            return None
        layouts.add((before, after))
    return layouts.pop() if len(layouts) == 1 else None


class TruncationMonitor:
    """Truncation counts of a path called again and again (one RL step after another), warned without flooding.

    ``record`` adds one call's count; it warns on the first call that truncates, then at most once every ``every``
    calls (when that call truncates too), each warning with the counts since the start. ``total`` holds them.
    """

    def __init__(self, what: str, key: str, side: str, every: int = 100):
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        self.what, self.key, self.side, self.every = what, key, side, every
        self.total = TruncationCount(0, 0, 0, 0)
        self.calls = 0
        self.last_warning_call = 0

    def record(self, count: TruncationCount) -> TruncationCount:
        """Add one call's ``count``; returns it."""
        self.calls += 1
        self.total = self.total + count
        due = self.last_warning_call == 0 or self.calls - self.last_warning_call >= self.every
        if count.truncated and due:
            logger.warning(truncation_message(f"{self.what} (calls so far: {self.calls})", self.total, self.side,
                                              self.key))
            self.last_warning_call = self.calls
        return count
