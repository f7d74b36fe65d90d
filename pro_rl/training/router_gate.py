"""The ArmoRM-style router (``orchestrator.objective: bradley_terry``): a gate trained through the fixed reward models.

The same model as PRO's orchestrator — a sequence classifier with K logits, w(x) = softmax(logits) — trained with the
Bradley–Terry loss of the mixed score (``pro_rl.algorithms.gate``):

1. Score the preferred AND the rejected response of every pair of D_rm with the K reward models (PRO's orchestrator
   scores only y⁺).
2. z-score both with the statistics of the preferred responses' rewards, exactly those PRO's orchestrator uses
   (``orchestrator.normalise_rewards``), saved beside the model the same way.
3. Minimise mean(−log σ(β Σ_k w_k(x)(r̃_k(x, y⁺) − r̃_k(x, y⁻)))) with β = ``orchestrator.bt_beta``.

Held-out pairs give ``eval/gate/loss`` and ``eval/gate/pair_accuracy`` (share of pairs the mixed score orders like
the label); held-out prompts with ground-truth weights add ``eval/w_star/{argmax_agreement,l1}`` as for the
orchestrator. The model is saved in the orchestrator's layout (``final/orchestrator/``), so the orchestrator actor,
``pro-rl weights`` and ``weights.mode: orchestrator`` serve it unchanged; ``reward_normalisation.json`` also records
``objective: bradley_terry`` and β.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import torch

from pro_rl.algorithms import gate_bradley_terry_loss, gate_margins, zscore, zscore_stats
from pro_rl.config.schema import OrchestratorConfig, ProRLConfig
from pro_rl.data.canonical import data_limits, load_pairs
from pro_rl.data.formats import render_response
from pro_rl.models.builders import build_orchestrator
from pro_rl.models.scoring import default_device, predict_weights
from pro_rl.models.tiny_corpus import run_corpus
from pro_rl.training.engine import TrainEngine, settings_from
from pro_rl.training.loop import fit
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.orchestrator import (NORMALISATION_FILE, OrchestratorInputs, evaluation, load_inputs,
                                          loop_settings, save_orchestrator, score_preferred)
from pro_rl.training.reward_model import split_eval

logger = logging.getLogger("pro_rl.training")


def load_rejected(config: ProRLConfig) -> List[str]:
    """The rendered rejected responses y⁻ of D_rm, row for row with ``load_inputs``'s preferred ones."""
    pairs = load_pairs(config.data.general_pairs, adapter=config.data.general_pairs_adapter,
                       **data_limits(config.data))
    return [render_response(response) for response in pairs["rejected"]]


def normalised_pair_rewards(chosen: torch.Tensor, rejected: torch.Tensor, spec: OrchestratorConfig):
    """(chosen (M, K), rejected (M, K), mean (K,), std (K,)): both z-scored with the preferred responses' statistics
    (the orchestrator's), or left raw with ``normalise_rewards: false``; the statistics are returned either way."""
    mean, std = zscore_stats(chosen)
    if spec.normalise_rewards:
        chosen, rejected = zscore(chosen, mean, std), zscore(rejected, mean, std)
    return chosen.float(), rejected.float(), mean, std


def gate_batch_loss(engine: TrainEngine, tokenizer, spec: OrchestratorConfig, prompts: Sequence[str],
                    chosen: torch.Tensor, rejected: torch.Tensor, train_index: List[int], device) -> Callable:
    """The loss ``fit`` calls on a list of positions in ``train_index``: the gate's Bradley–Terry loss."""

    def loss_of(indices: List[int]):
        rows = [train_index[i] for i in indices]
        batch = tokenizer([prompts[i] for i in rows], return_tensors="pt", padding=True, truncation=True,
                          max_length=spec.max_prompt_length).to(device)
        logits = engine(**batch).logits.float()
        loss = gate_bradley_terry_loss(logits, chosen[rows].to(device), rejected[rows].to(device), spec.bt_beta)
        return loss, {"train/gate/loss": loss.item()}

    return loss_of


def gate_pair_metrics(weights: torch.Tensor, chosen: torch.Tensor, rejected: torch.Tensor, beta: float) -> Dict[str, float]:
    """``eval/gate/loss`` and ``eval/gate/pair_accuracy`` (mixed margin > 0) of (B, K) gate weights on pairs."""
    margins = gate_margins(weights.float(), chosen, rejected)
    return {"eval/gate/loss": float(-torch.nn.functional.logsigmoid(beta * margins).mean()),
            "eval/gate/pair_accuracy": float((margins > 0).float().mean())}


def gate_evaluation(engine: TrainEngine, tokenizer, config: ProRLConfig, inputs: OrchestratorInputs,
                    chosen: torch.Tensor, rejected: torch.Tensor, eval_index: List[int]) -> Callable:
    """The evaluation ``fit`` calls: the gate's held-out pair metrics and the orchestrator's w* metrics."""
    spec = config.orchestrator
    true_weight_metrics = evaluation(engine, tokenizer, config, inputs.prompts, chosen, [], inputs.eval_prompts,
                                     inputs.true_weights)

    def evaluate() -> Dict[str, float]:
        values = true_weight_metrics()
        if eval_index:
            weights = predict_weights(engine.module, tokenizer, [inputs.prompts[i] for i in eval_index],
                                      spec.training.batch_size, spec.max_prompt_length)
            values.update(gate_pair_metrics(weights, chosen[eval_index], rejected[eval_index], spec.bt_beta))
        return values

    return evaluate


def record_objective(directory: Path, spec: OrchestratorConfig) -> None:
    """Add the router objective and β to the saved ``reward_normalisation.json``."""
    path = directory / NORMALISATION_FILE
    saved = json.loads(path.read_text())
    saved.update({"objective": spec.objective, "bt_beta": spec.bt_beta})
    path.write_text(json.dumps(saved, indent=2))


def train_gate(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger,
               inputs: OrchestratorInputs | None = None) -> Dict[str, float]:
    """Score both responses of D_rm, train the gate; saves it under ``final/orchestrator/`` (module docstring)."""
    spec, objectives = config.orchestrator, config.objectives
    if len(objectives) < 2:
        raise ValueError("the gate needs at least two reward_models (objectives)")
    device = default_device(config.run.device)
    inputs = inputs or load_inputs(config)
    rejected_texts = load_rejected(config)
    model, tokenizer = build_orchestrator(spec, objectives, run_corpus(spec, lambda: inputs.prompts))
    logger.info("gate: scoring %d pairs (both responses) with %d reward models", len(inputs.prompts), len(objectives))
    chosen, rejected, mean, std = normalised_pair_rewards(score_preferred(config, inputs.prompts, inputs.responses),
                                                          score_preferred(config, inputs.prompts, rejected_texts), spec)
    train_index, eval_index = split_eval(len(inputs.prompts), spec.training.eval_fraction, config.run.seed)
    engine = TrainEngine(model, settings_from(spec.training, config.trainer), device)
    loss_of = gate_batch_loss(engine, tokenizer, spec, inputs.prompts, chosen, rejected, train_index, device)
    evaluate = gate_evaluation(engine, tokenizer, config, inputs, chosen, rejected, eval_index)
    settings = loop_settings(config, len(train_index))
    result = fit(engine, len(train_index), loss_of, evaluate, settings, metrics,
                 output_dir / "checkpoints" / "orchestrator")
    final = output_dir / "final" / "orchestrator"
    save_orchestrator(final, engine, tokenizer, config, mean, std)
    record_objective(final, spec)
    logger.info("gate: %s", result)
    return result
