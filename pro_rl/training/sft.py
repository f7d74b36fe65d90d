"""Supervised fine-tuning of the policy (PRO eq. 1) — the warm-up before RL.

Rows are ``{"prompt", "response"}`` (or preference pairs, whose ``chosen`` is the target). The loss is the mean
token cross-entropy over the response and its eos only; the prompt is context. A tiny random policy emits noise
that reward models score arbitrarily, so the demo warms it up on the toy world's responses first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional

import torch

from pro_rl.config.schema import ProRLConfig, TrainingConfig
from pro_rl.data.canonical import read_jsonl
from pro_rl.data.errors import DataError
from pro_rl.data.formats import render_prompt, render_response, response_separator
from pro_rl.data.truncation import count_truncated, warn_if_truncated
from pro_rl.models.builders import load_policy
from pro_rl.models.lora import with_lora
from pro_rl.models.tiny_corpus import policy_corpus
from pro_rl.models.scoring import default_device
from pro_rl.training.engine import TrainEngine, settings_from
from pro_rl.training.loop import LoopSettings, fit, total_steps
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.reward_model import split_eval
from pro_rl.training.sequences import make_sequence_batch, response_logprobs

logger = logging.getLogger("pro_rl.training")


def sft_rows(path: str) -> List[tuple]:
    """(prompt, target) per row of ``path``: its ``response``, or the ``chosen`` side of a pair."""
    rows = []
    for index, row in enumerate(read_jsonl(path)):
        target = row.get("response", row.get("chosen"))
        if "prompt" not in row or target is None:
            raise DataError(path, "SFT rows need 'prompt' and 'response' (or 'chosen')", row=index)
        rows.append((row["prompt"], target))
    return rows


def sft_examples(rows: List[tuple], tokenizer, max_prompt_tokens: int, max_response_tokens: int,
                 prompt_format: str = "auto") -> tuple[List[List[int]], List[List[int]]]:
    """(prompt ids, response ids + eos) per row; prompts keep their last tokens, responses their first (one warning
    each, with counts, when any is cut). Prompts render in ``prompt_format``; a response gets the separator of
    ``join_prompt_response`` in front when neither side has whitespace at the junction."""
    prompts, responses, prompt_lengths, response_lengths = [], [], [], []
    for prompt, target in rows:
        prompt_text, response_text = render_prompt(prompt, tokenizer, prompt_format), render_response(target)
        prompt_ids = tokenizer(prompt_text, add_special_tokens=False)["input_ids"]
        response_ids = tokenizer(response_separator(prompt_text, response_text) + response_text,
                                 add_special_tokens=False)["input_ids"]
        prompt_lengths.append(len(prompt_ids))
        response_lengths.append(len(response_ids) + 1)  # + eos
        prompts.append(prompt_ids[-max_prompt_tokens:])
        responses.append(response_ids[: max_response_tokens - 1] + [tokenizer.eos_token_id])
    warn_if_truncated("sft prompts", count_truncated(prompt_lengths, max_prompt_tokens), "left",
                      "policy.max_prompt_length")
    warn_if_truncated("sft responses (with eos)", count_truncated(response_lengths, max_response_tokens), "right",
                      "rollout.max_new_tokens")
    return prompts, responses


def train_sft(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger, rows: Optional[List[tuple]] = None,
              checkpoint_root: Optional[Path] = None) -> Dict[str, float]:
    """Fine-tune ``policy.model`` on ``rows`` (``data.sft`` when not given) for ``policy.sft_steps`` steps; saves
    ``final/policy``. With a ``checkpoint_root`` it checkpoints every ``run.checkpoint_every`` steps (and when
    interrupted) and resumes under ``run.resume: auto``."""
    rows = sft_rows(config.data.sft) if rows is None else rows
    device = default_device(config.run.device)
    model, tokenizer = load_policy(config.policy.model, config.policy, policy_corpus(config))
    if config.policy.lora_rank:
        model = with_lora(model, config.policy)
    prompt_ids, response_ids = sft_examples(rows, tokenizer, config.policy.max_prompt_length,
                                            config.rollout.max_new_tokens, config.data.prompt_format)
    train_index, eval_index = split_eval(len(prompt_ids), 0.05, config.run.seed)
    training = TrainingConfig(learning_rate=config.policy.sft_learning_rate, batch_size=config.algorithm.prompt_batch_size,
                              micro_batch_size=config.trainer.micro_batch_size, max_steps=config.policy.sft_steps,
                              epochs=1e9)
    engine = TrainEngine(model, settings_from(training, config.trainer), device)
    pad = tokenizer.pad_token_id

    def mean_nll(rows: List[int], module) -> torch.Tensor:
        batch = make_sequence_batch([prompt_ids[i] for i in rows], [response_ids[i] for i in rows], pad).to(device)
        logprobs = response_logprobs(module, batch)
        return -(logprobs * batch.response_mask).sum() / batch.response_mask.sum()

    def loss_of(indices: List[int]):
        loss = mean_nll([train_index[i] for i in indices], engine)
        return loss, {"train/sft/loss": loss.item()}

    def evaluate() -> Dict[str, float]:
        with torch.no_grad():
            return {"eval/sft/loss": mean_nll(eval_index, engine.module).item()} if eval_index else {}

    settings = LoopSettings(name="sft", steps=total_steps(len(train_index), training),
                            batch_size=training.batch_size, micro_batch_size=training.micro_batch_size,
                            seed=config.run.seed, progress=config.run.progress,
                            checkpoint_every=config.run.checkpoint_every, keep_checkpoints=config.run.keep_checkpoints,
                            resume=config.run.resume == "auto")
    result = fit(engine, len(train_index), loss_of, evaluate, settings, metrics, checkpoint_root)
    engine.save_pretrained(output_dir / "final" / "policy", tokenizer)
    logger.info("sft: %s", result)
    return result
