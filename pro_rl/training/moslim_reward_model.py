"""Training MOSLIM's multi-head classification reward model (MOSLIM §2.2, eq. 6; Table 1 and Fig. 4 analogues).

1. Label rows ``{"prompt", "response", "labels": {objective: class 1..n_k or null}}`` come from ``moslim.data``
   (a label file, or pairs with scores mapped by ``moslim.data_type``, ``pro_rl.data.moslim_labels``), or, when it
   is empty, from the toy world's graded intensities (``toy_world_intensities.moslim_rows``, ``moslim.toy_rows`` rows).
2. The classifier (``build_multi_head_classifier``) reads ``prompt + response + eos``; each step minimises the masked
   per-head cross-entropy (``multi_head_loss``) through the DeepSpeed ``TrainEngine`` and ``loop.fit`` (atomic
   checkpoints, ``run.resume: auto``).
3. A seeded held-out fraction (``moslim.training.eval_fraction``) gives ``accuracy/<objective>`` (per head),
   ``accuracy/<objective>/<n>`` (per intensity class: its recall), ``accuracy/mean`` (over heads), ``eval/loss``
   and ``eval/labelled/<objective>/<n>`` (held-out rows per class, for the report).
4. The model is saved as a plain Hugging Face directory under ``final/reward_model/`` with its head layout in
   config.json (``moslim_heads``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Mapping, Sequence

import torch

from pro_rl.algorithms.moslim import NO_LABEL, intensity_accuracy, multi_head_loss, multi_head_predictions
from pro_rl.config.schema import ProRLConfig
from pro_rl.data import toy_world_intensities
from pro_rl.data.moslim_labels import load_label_rows
from pro_rl.data.truncation import measure_texts
from pro_rl.models.multi_head import build_multi_head_classifier, classifier_texts, encode_texts
from pro_rl.models.scoring import default_device
from pro_rl.training.engine import TrainEngine, settings_from
from pro_rl.training.loop import LoopSettings, fit, total_steps
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.reward_model import split_eval

logger = logging.getLogger("pro_rl.training")
FINAL_NAME = "reward_model"  # final/<FINAL_NAME>/ holds the trained classifier (the role it plays in RL)


def moslim_levels(config: ProRLConfig) -> Dict[str, int]:
    """The head layout {objective: n_k}: ``moslim.levels``, or the toy world's ``MOSLIM_LEVELS`` when empty."""
    return {objective: int(levels) for objective, levels in (config.moslim.levels or toy_world_intensities.MOSLIM_LEVELS).items()}


def load_moslim_rows(config: ProRLConfig) -> List[dict]:
    """The checked label rows of the classifier (see the module docstring, step 1)."""
    spec, levels = config.moslim, moslim_levels(config)
    if not spec.data:
        return toy_world_intensities.moslim_rows(spec.toy_rows, seed=config.run.seed, levels=levels)
    return load_label_rows(spec.data, levels, spec.data_type, adapter=spec.data_adapter, scales=spec.score_scales,
                           max_rows=config.data.max_rows or None, prompt_format=config.data.prompt_format)


def label_matrix(rows: Sequence[Mapping], heads: Mapping[str, int]) -> torch.Tensor:
    """(N, K) long class indices (class n → n − 1), ``NO_LABEL`` where a row has no label for a head."""
    return torch.tensor([[NO_LABEL if row["labels"].get(objective) is None else int(row["labels"][objective]) - 1
                          for objective in heads] for row in rows], dtype=torch.long)


def evaluation_metrics(logits: torch.Tensor, labels: torch.Tensor, heads: Mapping[str, int]) -> Dict[str, float]:
    """``accuracy/...``, ``eval/loss`` and ``eval/labelled/...`` of held-out logits (N, Σ n_k) and labels (N, K)."""
    accuracy = intensity_accuracy(multi_head_predictions(logits, heads), labels, heads)
    values = {f"accuracy/{key}": value for key, value in accuracy.items()}
    head_values = [accuracy[objective] for objective in heads if objective in accuracy]
    if head_values:
        values["accuracy/mean"] = sum(head_values) / len(head_values)
    values["eval/loss"] = multi_head_loss(logits, labels, heads)[0].item()
    for column, (objective, levels) in enumerate(heads.items()):
        for index in range(levels):
            values[f"eval/labelled/{objective}/{index + 1}"] = float((labels[:, column] == index).sum())
    return values


@torch.no_grad()
def held_out_logits(model, tokenizer, texts: Sequence[str], batch_size: int, max_length: int) -> torch.Tensor:
    """(N, Σ n_k) float logits of ``texts``, in batches."""
    device = next(model.parameters()).device
    chunks = [model(**encode_texts(tokenizer, texts[start:start + batch_size], max_length, device)).logits.float().cpu()
              for start in range(0, len(texts), batch_size)]
    return torch.cat(chunks)


def train_moslim_reward_model(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger,
                              rows: Sequence[Mapping]) -> Dict[str, float]:
    """Train the multi-head classifier on ``rows`` (``load_moslim_rows``); saves ``final/reward_model/`` and
    returns the final held-out metrics."""
    spec, training, heads = config.moslim, config.moslim.training, moslim_levels(config)
    device = default_device(config.run.device)
    corpus_texts = [row["prompt"] + row["response"] for row in rows]
    model, tokenizer = build_multi_head_classifier(spec, heads, corpus_texts)
    tokenizer.truncation_side = "left"
    texts = classifier_texts(tokenizer, [row["prompt"] for row in rows], [row["response"] for row in rows])
    measure_texts(tokenizer, texts, training.max_length, "moslim reward model training", "moslim.training.max_length",
                  add_special_tokens=False)
    labels = label_matrix(rows, heads)
    train_index, eval_index = split_eval(len(texts), training.eval_fraction, config.run.seed)
    engine = TrainEngine(model, settings_from(training, config.trainer), device)

    def loss_of(indices: List[int]):
        chosen = [train_index[i] for i in indices]
        batch = encode_texts(tokenizer, [texts[i] for i in chosen], training.max_length, device)
        loss, per_head = multi_head_loss(engine(**batch).logits, labels[chosen].to(device), heads)
        stats = {f"train/moslim/loss/{objective}": value.item() for objective, value in per_head.items()}
        return loss, {"train/moslim/loss": loss.item(), **stats}

    def evaluate() -> Dict[str, float]:
        if not eval_index:
            return {}
        logits = held_out_logits(engine.module, tokenizer, [texts[i] for i in eval_index], spec.batch_size,
                                 training.max_length)
        return evaluation_metrics(logits, labels[eval_index], heads)

    settings = LoopSettings(
        name="moslim reward model",
        steps=total_steps(len(train_index), training),
        batch_size=training.batch_size, micro_batch_size=training.micro_batch_size, seed=config.run.seed,
        checkpoint_every=config.run.checkpoint_every, keep_checkpoints=config.run.keep_checkpoints,
        resume=config.run.resume == "auto", progress=config.run.progress,
    )
    result = fit(engine, len(train_index), loss_of, evaluate, settings, metrics,
                 checkpoint_root=output_dir / "checkpoints" / FINAL_NAME)
    engine.save_pretrained(output_dir / "final" / FINAL_NAME, tokenizer)
    logger.info("moslim reward model: %s", {k: v for k, v in result.items() if k.startswith("accuracy/")})
    return result
