"""Offline DPO on MORA's max-margin pairs (Fig. 3, step 5 "DPO pairing"), one training stage at a time.

A stage fine-tunes the policy in ``init_policy`` on rows ``{"prompt", "chosen", "rejected"}`` (plain strings: the
prompt is used as it is, no template) with the project's DPO loss (``pro_rl.algorithms.dpo.dpo_loss``, sequence-summed
log-probs of the response and its eos), in one ``TrainEngine`` driven by ``loop.fit`` like the SFT and SGA trainers.
The reference is the stage's own initial policy, frozen: in MORA's sequential mode (objective after objective, the
paper's Fig. 4) each stage is anchored to the policy the previous stage produced.

Settings: ``mora.training`` (learning rate, batch, epochs / steps, max length, held-out fraction) and the DPO loss of
``algorithm.dpo_beta`` / ``algorithm.dpo_loss``. The stage writes ``final/policy`` into its directory and checkpoints
under ``checkpoints/`` (every ``run.checkpoint_every`` steps, and when interrupted), so that ``run.resume: auto``
continues a stage killed midway.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import torch

from pro_rl.algorithms import sum_masked
from pro_rl.algorithms.dpo import dpo_loss
from pro_rl.config.schema import ProRLConfig
from pro_rl.models.builders import load_policy
from pro_rl.models.scoring import default_device
from pro_rl.training.checkpoint import latest_checkpoint
from pro_rl.training.engine import TrainEngine, settings_from
from pro_rl.training.loop import LoopSettings, fit, micro_batches, total_steps
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.reward_model import split_eval
from pro_rl.training.sequences import make_sequence_batch, response_logprobs
from pro_rl.training.sft import sft_examples

logger = logging.getLogger("pro_rl.training")

PairIds = tuple  # (prompt ids, chosen ids + eos, rejected ids + eos), one list per pair each


def pair_token_ids(pairs: Sequence[dict], tokenizer, max_prompt_tokens: int, max_response_tokens: int) -> PairIds:
    """Token ids of every pair: prompts keep their last ``max_prompt_tokens``, responses their first tokens + eos."""
    prompts, chosen = sft_examples([(pair["prompt"], pair["chosen"]) for pair in pairs], tokenizer,
                                   max_prompt_tokens, max_response_tokens, "plain")
    _, rejected = sft_examples([(pair["prompt"], pair["rejected"]) for pair in pairs], tokenizer,
                               max_prompt_tokens, max_response_tokens, "plain")
    return prompts, chosen, rejected


def pair_loss_function(ids: PairIds, reference: torch.nn.Module, pad: int, device, beta: float,
                       loss_type: str) -> Callable:
    """``loss(model, rows) -> (loss, stats)``: chosen and rejected of ``rows`` in one policy forward, the reference
    without gradient, then ``dpo_loss``."""
    prompts, chosen, rejected = ids

    def loss(model, rows: List[int]):
        batch = make_sequence_batch([prompts[i] for i in rows] * 2,
                                    [chosen[i] for i in rows] + [rejected[i] for i in rows], pad).to(device)
        policy_sums = sum_masked(response_logprobs(model, batch), batch.response_mask)
        with torch.no_grad():
            reference_sums = sum_masked(response_logprobs(reference, batch), batch.response_mask)
        count = len(rows)
        return dpo_loss(policy_sums[:count], policy_sums[count:], reference_sums[:count], reference_sums[count:],
                        beta=beta, loss_type=loss_type)

    return loss


def frozen_policy(path: str, config: ProRLConfig, device) -> torch.nn.Module:
    """The policy at ``path`` in eval mode without gradients (the DPO reference)."""
    model, _ = load_policy(path, config.policy)
    model.to(device).eval()
    model.requires_grad_(False)
    return model


def train_dpo_stage(config: ProRLConfig, pairs: Sequence[dict], init_policy: str, stage_dir: Path,
                    seed: int) -> Dict[str, float]:
    """DPO of the policy in ``init_policy`` on ``pairs`` (reference: ``init_policy`` frozen); saves
    ``stage_dir/final/policy``. Returns the held-out evaluation (``eval/dpo/loss``, ``reward_margin``,
    ``accuracy``; empty without held-out pairs) and ``dpo/pairs``."""
    if not pairs:
        raise ValueError(f"{stage_dir.name}: no preference pairs to train on")
    device = default_device(config.run.device)
    training = config.mora.training
    model, tokenizer = load_policy(init_policy, config.policy)
    ids = pair_token_ids(pairs, tokenizer, config.policy.max_prompt_length, config.rollout.max_new_tokens)
    train_index, eval_index = split_eval(len(pairs), training.eval_fraction, seed)
    if not train_index:
        train_index, eval_index = eval_index, []
    engine = TrainEngine(model, settings_from(training, config.trainer), device)
    loss = pair_loss_function(ids, frozen_policy(init_policy, config, device), tokenizer.pad_token_id, device,
                              config.algorithm.dpo_beta, config.algorithm.dpo_loss)

    def loss_of(indices: List[int]):
        value, stats = loss(engine, [train_index[i] for i in indices])
        return value, {"train/dpo/loss": value.item(), **{f"train/dpo/{key}": v for key, v in stats.items()}}

    def evaluate() -> Dict[str, float]:
        if not eval_index:
            return {}
        values: Dict[str, float] = {}
        with torch.no_grad():
            for chunk in micro_batches(eval_index, training.micro_batch_size or training.batch_size):
                value, stats = loss(engine.module, chunk)
                share = len(chunk) / len(eval_index)
                for key, number in {"loss": value.item(), **stats}.items():
                    values[f"eval/dpo/{key}"] = values.get(f"eval/dpo/{key}", 0.0) + number * share
        return values

    settings = LoopSettings(name=f"mora_{stage_dir.name}", steps=total_steps(len(train_index), training),
                            batch_size=training.batch_size, micro_batch_size=training.micro_batch_size, seed=seed,
                            progress=config.run.progress, checkpoint_every=config.run.checkpoint_every,
                            keep_checkpoints=config.run.keep_checkpoints, resume=config.run.resume == "auto")
    if not (settings.resume and latest_checkpoint(stage_dir / "checkpoints")):
        (stage_dir / "metrics.jsonl").unlink(missing_ok=True)  # a fresh start: no lines of an earlier attempt
    metrics = MetricsLogger(stage_dir, tensorboard=False)
    try:
        result = fit(engine, len(train_index), loss_of, evaluate, settings, metrics, stage_dir / "checkpoints")
    finally:
        metrics.close()
    engine.save_pretrained(stage_dir / "final" / "policy", tokenizer)
    logger.info("mora %s: %d pairs, %s", stage_dir.name, len(pairs), result)
    return {"dpo/pairs": float(len(pairs)), **result}
