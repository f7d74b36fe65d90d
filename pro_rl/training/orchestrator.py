"""Preference Orchestrator training (PRO eqs. 6–8).

1. Score every preferred response y⁺ of D_rm with the K reward models: r⁺ = [r_1(x, y⁺), ..., r_K(x, y⁺)] (eq. 6).
2. z-score each objective over D_rm (``orchestrator.normalise_rewards``; the statistics are saved with the model,
   since raw reward scales differ per model and τ only means something on a common scale).
3. Targets w* = softmax(r⁺/τ) (eq. 7).
4. Train f(x) = softmax(logits) with KL(f(x) ‖ w*) (eq. 8, ``kl_direction: forward``) or KL(w* ‖ f(x)) (``reverse``).

Held-out pairs give ``eval/kl``, ``eval/argmax_agreement`` (against the targets) and ``eval/target_entropy``;
held-out prompts that carry ground-truth ``weights`` (the toy world's) add ``eval/w_star/argmax_agreement`` and
``eval/w_star/l1``, and a bag-of-words softmax regression trained on the same targets gives the baseline
``eval/bow/argmax_agreement`` to read the orchestrator against.

``train_orchestrator`` reads as those steps: load D_rm, score, targets, split, train (``fit`` with the loss and the
evaluation built here), bag-of-words baseline, save. The baseline is saved beside the orchestrator
(``bag_of_words.safetensors``, served with ``weights.mode: bag_of_words``). ``orchestrator.objective: bradley_terry``
trains the second router objective instead, the ArmoRM-style gate of ``pro_rl.training.router_gate``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

import torch

from pro_rl.algorithms import (argmax_agreement, orchestrator_loss, orchestrator_metrics, orchestrator_targets, zscore,
                               zscore_stats)
from pro_rl.config.schema import OrchestratorConfig, ProRLConfig
from pro_rl.data.canonical import data_limits, load_pairs, load_prompts
from pro_rl.data.formats import render_response
from pro_rl.data.truncation import measure_texts
from pro_rl.models.builders import build_orchestrator
from pro_rl.models.prompt_rendering import render_prompts
from pro_rl.models.scoring import default_device, predict_weights
from pro_rl.models.tiny_corpus import run_corpus
from pro_rl.training.bag_of_words import BagOfWordsBaseline
from pro_rl.training.engine import TrainEngine, settings_from
from pro_rl.training.score_cache import reward_scores
from pro_rl.training.loop import LoopSettings, fit, total_steps
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.orchestrator_schedule import HeldOutSelection
from pro_rl.training.reward_model import split_eval

logger = logging.getLogger("pro_rl.training")
NORMALISATION_FILE = "reward_normalisation.json"


def load_preferred(config: ProRLConfig) -> tuple[List[str], List[str]]:
    """Rendered prompts and preferred responses y⁺ of D_rm (``data.general_pairs``)."""
    pairs = load_pairs(config.data.general_pairs, adapter=config.data.general_pairs_adapter,
                       **data_limits(config.data))
    prompts = render_prompts(config, pairs["prompt"])
    responses = [render_response(response) for response in pairs["chosen"]]
    return prompts, responses


def score_preferred(config: ProRLConfig, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
    """(M, K) raw rewards of the preferred responses, one column per objective (eq. 6); cached on disk
    (``score_cache``, ``run.score_cache_dir``)."""
    columns = []
    for spec in config.reward_models:
        columns.append(torch.tensor(reward_scores(config, spec, prompts, responses), dtype=torch.float64))
        bad = (~torch.isfinite(columns[-1])).sum().item()
        if bad:
            raise ValueError(f"objective '{spec.name}': {bad} of {len(responses)} reward scores are NaN/inf")
    return torch.stack(columns, dim=1)


def preference_targets(rewards: torch.Tensor, spec: OrchestratorConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(targets (M, K) float32, mean (K,), std (K,)): w* = softmax(z/τ) of the z-scored rewards (eq. 7), or of the
    raw rewards with ``normalise_rewards: false``; the z-score stats are returned either way, to be saved."""
    mean, std = zscore_stats(rewards)
    if spec.normalise_rewards:
        rewards = zscore(rewards, mean, std)
    return orchestrator_targets(rewards, spec.tau).float(), mean, std


def load_true_weights(config: ProRLConfig, objectives: List[str]) -> tuple[List[str], Optional[torch.Tensor]]:
    """Held-out prompts and their ground-truth weights (K columns), when data.eval_prompts carries them."""
    if not config.data.eval_prompts:
        return [], None
    prompts = load_prompts(config.data.eval_prompts, **data_limits(config.data))
    if "weights" not in prompts.column_names:
        return render_prompts(config, prompts["prompt"]), None
    weights = torch.tensor([[row[name] for name in objectives] for row in prompts["weights"]], dtype=torch.float64)
    return render_prompts(config, prompts["prompt"]), weights


def batch_loss(engine: TrainEngine, tokenizer, spec: OrchestratorConfig, prompts: Sequence[str], targets: torch.Tensor,
               train_index: List[int], device) -> Callable:
    """The loss ``fit`` calls on a list of positions in ``train_index``: eq. 8 in ``spec.kl_direction``."""

    def loss_of(indices: List[int]):
        rows = [train_index[i] for i in indices]
        batch = tokenizer([prompts[i] for i in rows], return_tensors="pt", padding=True, truncation=True,
                          max_length=spec.max_prompt_length).to(device)
        logits = engine(**batch).logits.float()
        loss = orchestrator_loss(logits, targets[rows].to(device), spec.kl_direction)
        return loss, {"train/orchestrator/loss": loss.item()}

    return loss_of


def evaluation(engine: TrainEngine, tokenizer, config: ProRLConfig, prompts: Sequence[str], targets: torch.Tensor,
               eval_index: List[int], eval_prompts: List[str], true_weights: Optional[torch.Tensor]) -> Callable:
    """The evaluation ``fit`` calls: ``eval/{kl,argmax_agreement,target_entropy}`` on the held-out pairs, and
    ``eval/w_star/{argmax_agreement,l1}`` on held-out prompts with ground-truth weights."""
    spec, batch_size = config.orchestrator, config.orchestrator.training.batch_size

    def evaluate() -> Dict[str, float]:
        values: Dict[str, float] = {}
        if eval_index:
            predicted = predict_weights(engine.module, tokenizer, [prompts[i] for i in eval_index],
                                        batch_size, spec.max_prompt_length).float()
            values.update({f"eval/{k}": v for k, v in orchestrator_metrics(predicted, targets[eval_index]).items()})
        if true_weights is not None:
            predicted = predict_weights(engine.module, tokenizer, eval_prompts, batch_size,
                                        spec.max_prompt_length).float()
            truth = orchestrator_metrics(predicted, true_weights.float(), true_weights.float())
            values["eval/w_star/argmax_agreement"] = truth["argmax_agreement"]
            values["eval/w_star/l1"] = (predicted - true_weights.float()).abs().sum(dim=1).mean().item()
        return values

    return evaluate


def loop_settings(config: ProRLConfig, num_train: int) -> LoopSettings:
    """The supervised loop's settings from ``orchestrator.training`` and ``run``."""
    training = config.orchestrator.training
    return LoopSettings(
        name="orchestrator", steps=total_steps(num_train, training),
        batch_size=training.batch_size, micro_batch_size=training.micro_batch_size, seed=config.run.seed,
        checkpoint_every=config.run.checkpoint_every, keep_checkpoints=config.run.keep_checkpoints,
        resume=config.run.resume == "auto", progress=config.run.progress, eval_every=config.orchestrator.eval_every,
    )


def bag_of_words_agreement(tokenizer, num_objectives: int, seed: int, train_prompts: List[str],
                           train_targets: torch.Tensor, eval_prompts: List[str],
                           true_weights: torch.Tensor) -> tuple[BagOfWordsBaseline, float]:
    """A bag-of-words softmax regression fitted to the same targets (the baseline), and its argmax agreement
    with w*."""
    baseline = BagOfWordsBaseline(tokenizer, num_objectives, seed=seed)
    baseline.fit(train_prompts, train_targets)
    return baseline, argmax_agreement(baseline.predict(eval_prompts), true_weights)


def save_orchestrator(final: Path, engine: TrainEngine, tokenizer, config: ProRLConfig, mean: torch.Tensor,
                      std: torch.Tensor) -> None:
    """The trained model in Hugging Face layout, with the reward normalisation it was trained on beside it."""
    spec = config.orchestrator
    engine.save_pretrained(final, tokenizer)
    (final / NORMALISATION_FILE).write_text(json.dumps({
        "objectives": config.objectives, "normalised": spec.normalise_rewards, "tau": spec.tau,
        "mean": mean.tolist(), "std": std.tolist(),
    }, indent=2))


@dataclass
class OrchestratorInputs:
    """D_rm's rendered prompts and preferred responses, and the held-out prompts with their w* (None when the data
    has none). Loaded once, before the run directory is touched."""

    prompts: List[str]
    responses: List[str]
    eval_prompts: List[str]
    true_weights: Optional[torch.Tensor]


def load_inputs(config: ProRLConfig) -> OrchestratorInputs:
    return OrchestratorInputs(*load_preferred(config), *load_true_weights(config, config.objectives))


def train_orchestrator(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger,
                       inputs: Optional[OrchestratorInputs] = None) -> Dict[str, float]:
    """Score D_rm, build targets, train the orchestrator; saves it under ``final/orchestrator/``. ``inputs`` as
    ``load_inputs`` reads them (read here when not given)."""
    spec, objectives = config.orchestrator, config.objectives
    if spec.objective == "bradley_terry":  # the ArmoRM-style gate, the second router objective
        from pro_rl.training.router_gate import train_gate

        return train_gate(config, output_dir, metrics, inputs)
    if len(objectives) < 2:
        raise ValueError("the orchestrator needs at least two reward_models (objectives)")
    device = default_device(config.run.device)
    inputs = inputs or load_inputs(config)
    prompts, responses = inputs.prompts, inputs.responses
    model, tokenizer = build_orchestrator(spec, objectives, run_corpus(spec, lambda: prompts))
    for what, texts in (("orchestrator training", prompts), ("orchestrator held-out prompts", inputs.eval_prompts)):
        measure_texts(tokenizer, texts, spec.max_prompt_length, what, "orchestrator.max_prompt_length")
    logger.info("orchestrator: scoring %d preferred responses with %d reward models", len(prompts), len(objectives))
    targets, mean, std = preference_targets(score_preferred(config, prompts, responses), spec)
    train_index, eval_index = split_eval(len(prompts), spec.training.eval_fraction, config.run.seed)
    eval_prompts, true_weights = inputs.eval_prompts, inputs.true_weights
    engine = TrainEngine(model, settings_from(spec.training, config.trainer), device)

    loss_of = batch_loss(engine, tokenizer, spec, prompts, targets, train_index, device)
    evaluate = evaluation(engine, tokenizer, config, prompts, targets, eval_index, eval_prompts, true_weights)
    selection = HeldOutSelection(engine.module) if spec.select_best else None
    settings = loop_settings(config, len(train_index))
    result = fit(engine, len(train_index), loss_of, selection.tracking(evaluate) if selection else evaluate, settings,
                 metrics, output_dir / "checkpoints" / "orchestrator")
    if selection:  # the weights of the lowest held-out KL (orchestrator_schedule)
        result = selection.restore(result, evaluate)
        metrics.log(settings.steps, result)
    baseline = None
    if true_weights is not None:
        baseline, agreement = bag_of_words_agreement(tokenizer, len(objectives), config.run.seed,
                                                     [prompts[i] for i in train_index], targets[train_index],
                                                     eval_prompts, true_weights)
        result["eval/bow/argmax_agreement"] = agreement
        metrics.log(settings.steps, {"eval/bow/argmax_agreement": agreement})
    save_orchestrator(output_dir / "final" / "orchestrator", engine, tokenizer, config, mean, std)
    if baseline is not None:  # served by weights.mode: bag_of_words
        baseline.save(output_dir / "final" / "orchestrator")
    logger.info("orchestrator: %s", result)
    return result
