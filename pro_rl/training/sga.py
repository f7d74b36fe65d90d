"""SGA (Self-Guided Alignment) training on one process: the dual-head policy with eq. 7 (``sga_sft``) or eq. 9
(``sga_dpo``).

1. Read the preference pairs (``data.general_pairs``) and make the score targets s ∈ [0, 1]^K of each chosen
   response (``pro_rl.data.sga_targets``; ``sga.score_source``).
2. Condition each prompt on its targets (``sga_prompt_ids``: the score text after the user turn) and note where the
   head reads (the last token of the raw prompt's prefix; see ``pro_rl.models.sga``).
3. Train LM + head in one ``TrainEngine`` with ``loop.fit``:
   - ``sft``: CE of the chosen response given the conditioned prompt + λ·MSE of the head (eq. 7);
   - ``dpo``: DPO on the chosen and rejected responses given the prompt conditioned on the chosen response's scores
     (summed log-probs; the reference is the initial LM, frozen) + λ·MSE (eq. 9), weighted by ``sga.dpo_weight``.
   The head's input comes from the same forward pass as the logits (the prefix is a token-prefix of the
   conditioned prompt), so each step costs one policy forward per sequence.
4. Evaluate on held-out pairs (the same losses: ``eval/sga/*``) and, when ``data.eval_prompts`` carries the true
   weights w*, the argmax agreement of the predicted scores ŝ with w* (``eval/w_star/argmax_agreement``, the
   measure the orchestrator reports); save LM + head into ``final/policy`` with ``sga_scores.json``.

Resume (``run.resume: auto``) restores the engine (LM, head, optimizer) from ``checkpoints/policy``; the reference
is reloaded from ``policy.model``, which is the initial model.

Simplifications: chat-message prompts are rendered in the plain Human/Assistant format before the score text is
added; the z-score stats of reward-model targets are taken over the chosen responses only.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
from torch import Tensor

from pro_rl.algorithms import argmax_agreement, sum_masked
from pro_rl.algorithms.sga import sga_dpo_loss, sga_sft_loss
from pro_rl.config.errors import ConfigError
from pro_rl.config.model_specs import looks_local
from pro_rl.config.schema import ProRLConfig
from pro_rl.data.canonical import data_limits, load_pairs, resolve_adapter
from pro_rl.data.formats import render_response, response_separator
from pro_rl.data.sga_pairs import MEAN_RATING_READERS, load_mean_rating_pairs
from pro_rl.data.truncation import check_identical_pairs, count_truncated, identical_after_truncation, warn_if_truncated
from pro_rl.data.sga_targets import (RATING_SCALES, rating_targets, resolve_score_source, reward_model_targets,
                                     toy_world_targets)
from pro_rl.models.builders import load_policy
from pro_rl.models.lora import with_lora
from pro_rl.models.prompt_rendering import render_prompts
from pro_rl.models.scoring import RewardScorer, default_device
from pro_rl.models.sga import (SCORES_FILE, SGAPolicy, build_score_head, is_sga_policy, load_sga_policy,
                               save_sga_policy, sense_scores, sga_prompt_ids)
from pro_rl.training.engine import TrainEngine, settings_from
from pro_rl.training.loop import LoopSettings, fit, micro_batches, total_steps
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.orchestrator import load_true_weights
from pro_rl.training.reward_model import split_eval
from pro_rl.training.sequences import make_sequence_batch, response_logprobs
from pro_rl.training.wic_data import score_matrix

logger = logging.getLogger("pro_rl.training")
VARIANTS = ("sft", "dpo")


@dataclass
class SGAInputs:
    """The rendered pairs, their score targets, and the held-out prompts with w* (None when the data has none).
    Loaded once, before the run directory is touched."""

    prompts: List[str]
    chosen: List[str]
    rejected: List[str]
    targets: Tensor  # (N, K) in [0, 1]
    score_source: str
    eval_prompts: List[str]
    true_weights: Optional[Tensor]
    score_stats: Dict[str, List[float]] = field(default_factory=dict)  # reward_models: z-score mean and std


def score_targets(config: ProRLConfig, pairs, source: str, prompts: List[str],
                  chosen: List[str]) -> Tuple[Tensor, Dict[str, List[float]]]:
    """(N, K) targets of the chosen responses by ``source`` (see ``pro_rl.data.sga_targets``), and the z-score
    stats when they come from reward models."""
    objectives = config.objectives
    if source == "toy_world":
        return toy_world_targets(chosen, objectives), {}
    if source in RATING_SCALES:
        scores = pairs["scores"] if "scores" in pairs.column_names else [None] * len(pairs)
        return rating_targets(scores, objectives, source, config.data.general_pairs), {}
    scorers = [RewardScorer(spec, config.run.device) for spec in config.reward_models]
    targets, mean, std = reward_model_targets(score_matrix(scorers, prompts, chosen))
    return targets, {"mean": mean.tolist(), "std": std.tolist()}


def load_sga_inputs(config: ProRLConfig) -> SGAInputs:
    """Read ``data.general_pairs`` (HelpSteer2 and UltraFeedback paired by the mean rating over the objectives,
    ``pro_rl.data.sga_pairs``; other sources through their adapter) and ``data.eval_prompts``; make the targets."""
    source_path = config.data.general_pairs
    adapter = resolve_adapter(source_path, config.data.general_pairs_adapter)
    if adapter in MEAN_RATING_READERS:  # rating datasets: one pair per prompt over all K objectives (SGA B.2)
        pairs = load_mean_rating_pairs(source_path, adapter, config.objectives, **data_limits(config.data))
    else:
        pairs = load_pairs(source_path, adapter=adapter, **data_limits(config.data))
    source = resolve_score_source(config.sga.score_source, adapter, "scores" in pairs.column_names)
    prompts = render_prompts(config, pairs["prompt"])
    chosen = [render_response(response) for response in pairs["chosen"]]
    rejected = [render_response(response) for response in pairs["rejected"]]
    targets, stats = score_targets(config, pairs, source, prompts, chosen)
    eval_prompts, true_weights = load_true_weights(config, config.objectives)
    logger.info("sga: %d pairs, score targets from %s (mean %s)", len(prompts), source, targets.mean(0).tolist())
    return SGAInputs(prompts, chosen, rejected, targets, source, eval_prompts, true_weights, stats)


def initial_policy(config: ProRLConfig) -> Tuple[SGAPolicy, object]:
    """``policy.model`` with its score head when it is an SGA policy, else with a fresh head; LoRA when asked."""
    spec, sga = config.policy, config.sga
    if looks_local(spec.model) and is_sga_policy(spec.model):
        lm, head, tokenizer = load_sga_policy(spec.model, spec)
    else:
        lm, tokenizer = load_policy(spec.model, spec)
        head = build_score_head(lm, config.objectives, sga.head_hidden_size, sga.head_layers, config.run.seed)
    if spec.lora_rank:
        lm = with_lora(lm, spec)
    return SGAPolicy(lm, head), tokenizer


@dataclass
class SGAExamples:
    """Token ids of the conditioned prompts, where the head reads in them, and the responses (+ eos)."""

    prompt_ids: List[List[int]]
    read_index: List[int]
    chosen_ids: List[List[int]]
    rejected_ids: List[List[int]]


def sga_examples(inputs: SGAInputs, tokenizer, objectives: List[str], max_prompt_tokens: int,
                 max_length: int, max_identical_share: float = 1.0) -> SGAExamples:
    """Condition every prompt on its targets and tokenise; responses are cut to fit ``max_length`` in all (warned),
    and pairs made identical by the cut may be at most ``max_identical_share`` (else a ``ConfigError``)."""
    examples = SGAExamples([], [], [], [])
    truncated = 0
    full: Dict[str, List[List[int]]] = {"chosen": [], "rejected": []}
    for prompt, chosen, rejected, scores in zip(inputs.prompts, inputs.chosen, inputs.rejected,
                                                inputs.targets.tolist()):
        try:
            ids, read = sga_prompt_ids(tokenizer, prompt, objectives, scores, max_prompt_tokens)
        except ValueError as error:
            raise ConfigError(f"key 'policy.max_prompt_length': {error}") from None
        truncated += len(ids) == max_prompt_tokens
        room = max(max_length - len(ids), 1)
        examples.prompt_ids.append(ids)
        examples.read_index.append(read)
        for side, text, column in zip(full, (chosen, rejected), (examples.chosen_ids, examples.rejected_ids)):
            full[side].append(tokenizer(response_separator(prompt, text) + text, add_special_tokens=False)["input_ids"])
            column.append(full[side][-1][: room - 1] + [tokenizer.eos_token_id])
    if truncated:
        logger.warning("sga: %d of %d conditioned prompts reach policy.max_prompt_length (%d tokens) and may have lost "
                       "their first tokens", truncated, len(examples.prompt_ids), max_prompt_tokens)
    lengths = [len(prompt) + len(ids) + 1 for side in full.values() for prompt, ids in zip(examples.prompt_ids, side)]
    warn_if_truncated("sga pairs (conditioned prompt + response + eos)", count_truncated(lengths, max_length), "right",
                      "sga.training.max_length")
    identical = identical_after_truncation(full["chosen"], full["rejected"], examples.chosen_ids, examples.rejected_ids)
    check_identical_pairs("sga pairs", identical, len(full["chosen"]), max_identical_share, "sga.training.max_length",
                          max_length)
    return examples


class ScoreReader:
    """Calls an SGA policy (or its engine) with the head's reading positions and keeps the scores, so that
    ``response_logprobs`` gives the log-probs and the same forward pass gives the scores."""

    def __init__(self, model, positions: Tensor):
        self.model, self.positions, self.scores = model, positions, None

    def __call__(self, **inputs):
        output = self.model(**inputs, score_positions=self.positions)
        self.scores = output.scores
        return output


def policy_pass(model, examples: SGAExamples, rows: List[int], responses: List[List[int]], pad: int, device):
    """(batch, token log-probs (N, R), head scores (N, K)) of ``rows`` with the given responses, one forward."""
    batch = make_sequence_batch([examples.prompt_ids[i] for i in rows], responses, pad).to(device)
    positions = torch.tensor([batch.prompt_width - len(examples.prompt_ids[i]) + examples.read_index[i] for i in rows],
                             device=device)
    reader = ScoreReader(model, positions)
    logprobs = response_logprobs(reader, batch)
    return batch, logprobs, reader.scores


def sft_loss_function(config: ProRLConfig, examples: SGAExamples, targets: Tensor, pad: int, device) -> Callable:
    """``loss(model, rows) -> (loss, stats)`` of eq. 7 on ``rows`` (indices into the examples)."""

    def loss(model, rows: List[int]):
        responses = [examples.chosen_ids[i] for i in rows]
        batch, logprobs, scores = policy_pass(model, examples, rows, responses, pad, device)
        ce = -(logprobs * batch.response_mask).sum() / batch.response_mask.sum()
        return sga_sft_loss(ce, scores, targets[rows].to(device), config.sga.lam)

    return loss


def dpo_loss_function(config: ProRLConfig, examples: SGAExamples, targets: Tensor, pad: int, device,
                      reference) -> Callable:
    """``loss(model, rows) -> (loss, stats)`` of eq. 9: chosen and rejected in one forward (the head reads the
    chosen rows: both rows of a pair share the prefix), the frozen ``reference`` without gradient."""

    def loss(model, rows: List[int]):
        doubled = rows + rows
        responses = [examples.chosen_ids[i] for i in rows] + [examples.rejected_ids[i] for i in rows]
        batch, logprobs, scores = policy_pass(model, examples, doubled, responses, pad, device)
        policy_sums = sum_masked(logprobs, batch.response_mask)
        with torch.no_grad():
            reference_sums = sum_masked(response_logprobs(reference, batch), batch.response_mask)
        count = len(rows)
        sga = config.sga
        return sga_dpo_loss(policy_sums[:count], policy_sums[count:], reference_sums[:count], reference_sums[count:],
                            scores[:count], targets[rows].to(device), beta=sga.dpo_beta, lam=sga.lam,
                            dpo_weight=sga.dpo_weight)

    return loss


def reference_model(config: ProRLConfig, device):
    """The initial LM, frozen (the DPO reference): ``policy.model`` as it was before this run."""
    model, _ = load_policy(config.policy.model, config.policy)
    model.to(device).eval()
    model.requires_grad_(False)
    return model


def evaluation(engine: TrainEngine, loss: Callable, eval_index: List[int], batch_size: int, tokenizer,
               inputs: SGAInputs, max_prompt_tokens: int) -> Callable[[], Dict[str, float]]:
    """``eval/sga/<stat>`` of the loss on the held-out pairs (averaged over rows) and, with w*, the argmax
    agreement of the predicted scores with it (``eval/w_star/argmax_agreement``)."""

    def evaluate() -> Dict[str, float]:
        values: Dict[str, float] = {}
        with torch.no_grad():
            for chunk in micro_batches(eval_index, batch_size):
                _, stats = loss(engine.module, chunk)
                for key, value in stats.items():
                    values[f"eval/sga/{key}"] = values.get(f"eval/sga/{key}", 0.0) + value * len(chunk) / len(eval_index)
            if inputs.true_weights is not None:
                predicted = sense_scores(engine.module.lm, engine.module.head, tokenizer, inputs.eval_prompts,
                                         batch_size, max_prompt_tokens)
                values["eval/w_star/argmax_agreement"] = argmax_agreement(predicted, inputs.true_weights.float())
        return values

    return evaluate


def save_final(output_dir: Path, engine: TrainEngine, tokenizer, config: ProRLConfig, inputs: SGAInputs) -> Path:
    """LM + head into ``final/policy`` and ``sga_scores.json`` beside them (how the targets were made, and the
    inference defaults)."""
    final = save_sga_policy(output_dir / "final" / "policy", engine.module, tokenizer)
    sga = config.sga
    (final / SCORES_FILE).write_text(json.dumps({
        "objectives": config.objectives, "score_source": inputs.score_source, **inputs.score_stats,
        "snap_grid": sga.snap_grid, "temperature": sga.temperature, "top_p": sga.top_p,
    }, indent=2) + "\n")
    return final


def train_sga(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger, variant: str,
              inputs: Optional[SGAInputs] = None) -> Dict[str, float]:
    """Train the SGA policy (``variant`` 'sft': eq. 7; 'dpo': eq. 9); saves ``final/policy``. Resumable."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown SGA variant {variant!r}; expected one of {VARIANTS}")
    inputs = inputs or load_sga_inputs(config)
    device = default_device(config.run.device)
    training = config.sga.training
    policy, tokenizer = initial_policy(config)
    examples = sga_examples(inputs, tokenizer, config.objectives, config.policy.max_prompt_length, training.max_length,
                            config.data.max_identical_pair_share if variant == "dpo" else 1.0)  # sft reads chosen only
    train_index, eval_index = split_eval(len(examples.prompt_ids), training.eval_fraction, config.run.seed)
    engine = TrainEngine(policy, settings_from(training, config.trainer), device)
    pad = tokenizer.pad_token_id
    if variant == "sft":
        loss = sft_loss_function(config, examples, inputs.targets, pad, device)
    else:
        loss = dpo_loss_function(config, examples, inputs.targets, pad, device, reference_model(config, device))

    def loss_of(indices: List[int]):
        value, stats = loss(engine, [train_index[i] for i in indices])
        return value, {f"train/sga/{key}": number for key, number in stats.items()}

    evaluate = evaluation(engine, loss, eval_index, training.micro_batch_size or training.batch_size, tokenizer,
                          inputs, config.policy.max_prompt_length)
    settings = LoopSettings(name=f"sga_{variant}", steps=total_steps(len(train_index), training),
                            batch_size=training.batch_size, micro_batch_size=training.micro_batch_size,
                            seed=config.run.seed, progress=config.run.progress,
                            checkpoint_every=config.run.checkpoint_every, keep_checkpoints=config.run.keep_checkpoints,
                            resume=config.run.resume == "auto")
    result = fit(engine, len(train_index), loss_of, evaluate, settings, metrics, output_dir / "checkpoints" / "policy")
    save_final(output_dir, engine, tokenizer, config, inputs)
    logger.info("sga_%s: %s", variant, result)
    return result
