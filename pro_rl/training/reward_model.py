"""Reward-model training, one objective at a time, with the Bradley–Terry loss (PRO eq. 2).

For each pair (x, y⁺, y⁻) of the objective's data the model scores ``x + y⁺ + eos`` and ``x + y⁻ + eos`` in one
forward pass and minimises −log σ(r(x, y⁺) − r(x, y⁻)). A held-out fraction gives ``eval/<objective>/accuracy``.
The trained model is saved in Hugging Face layout under ``final/<objective>/``, with ``pro_rl_reward_model.json``
(``pro_rl.models.reward_model_record``): the length it was trained at, which ``RewardScorer`` then scores with.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from pro_rl.algorithms import bradley_terry_loss, pair_accuracy
from pro_rl.config.loading import ConfigError
from pro_rl.config.schema import ProRLConfig, RewardModelConfig
from pro_rl.data.canonical import load_pairs
from pro_rl.data.formats import join_prompt_response, render_prompt, render_response
from pro_rl.data.truncation import check_text_pairs
from pro_rl.models import tiny_corpus
from pro_rl.models.builders import build_reward_model, is_function_spec
from pro_rl.models.reward_model_record import write_record
from pro_rl.models.scoring import default_device, reward_model_scores
from pro_rl.training.engine import TrainEngine, settings_from
from pro_rl.training.loop import LoopSettings, fit, total_steps
from pro_rl.training.metrics import MetricsLogger

logger = logging.getLogger("pro_rl.training")


def pair_texts(dataset, tokenizer, prompt_format: str = "auto") -> tuple[List[str], List[str]]:
    """(chosen texts, rejected texts): the prompt rendered in ``prompt_format``, joined to the response
    (``join_prompt_response``), + eos."""
    eos = tokenizer.eos_token or ""
    prompts = [render_prompt(prompt, tokenizer, prompt_format) for prompt in dataset["prompt"]]
    chosen = [join_prompt_response(p, render_response(r)) + eos for p, r in zip(prompts, dataset["chosen"])]
    rejected = [join_prompt_response(p, render_response(r)) + eos for p, r in zip(prompts, dataset["rejected"])]
    return chosen, rejected


def split_eval(count: int, fraction: float, seed: int) -> tuple[List[int], List[int]]:
    """A seeded (train indices, eval indices) split."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed)).tolist()
    eval_count = int(round(count * fraction))
    if fraction > 0 and eval_count == 0 and count > 1:
        eval_count = 1
    return order[eval_count:], order[:eval_count]


def load_reward_pairs(config: ProRLConfig, spec: RewardModelConfig):
    """The preference pairs of one objective's reward model, read and checked (None for a reward function)."""
    if is_function_spec(spec.model):
        return None
    if not spec.data:
        raise ConfigError(f"key 'reward_models.{config.reward_models.index(spec)}.data': empty; reward model "
                          f"'{spec.name}' needs preference pairs to train on")
    return load_pairs(spec.data, adapter=spec.data_adapter, objective=spec.data_objective or spec.name,
                      max_rows=config.data.max_rows or None, max_chars=config.data.max_chars or None,
                      on_bad_row=config.data.on_bad_row)


def train_reward_model(config: ProRLConfig, spec: RewardModelConfig, output_dir: Path, metrics: MetricsLogger,
                       pairs=None) -> Dict[str, float]:
    """Train the reward model of one objective on ``pairs`` (read here when not given); its final eval metrics."""
    if is_function_spec(spec.model):
        logger.info("reward '%s' is the function %s: nothing to train", spec.name, spec.model)
        return {}
    if pairs is None:
        pairs = load_reward_pairs(config, spec)
    device = default_device(config.run.device)
    model, tokenizer = build_reward_model(spec, tiny_corpus.run_corpus(spec, lambda: tiny_corpus.pair_texts(pairs)))
    tokenizer.truncation_side = "left"
    chosen, rejected = pair_texts(pairs, tokenizer, config.data.prompt_format)
    check_text_pairs(tokenizer, chosen, rejected, spec.training.max_length, f"reward model '{spec.name}' training",
                     f"reward_models.{config.reward_models.index(spec)}.training.max_length",
                     config.data.max_identical_pair_share, add_special_tokens=False)
    train_index, eval_index = split_eval(len(chosen), spec.training.eval_fraction, config.run.seed)
    training = spec.training
    engine = TrainEngine(model, settings_from(training, config.trainer), device)
    prefix = f"train/{spec.name}"

    def encode(texts: Sequence[str]) -> dict:
        return tokenizer(list(texts), return_tensors="pt", padding=True, truncation=True,
                         max_length=training.max_length, add_special_tokens=False).to(device)

    def loss_of(indices: List[int]):
        rows = [train_index[i] for i in indices]
        batch = encode([chosen[i] for i in rows] + [rejected[i] for i in rows])
        scores = engine(**batch).logits[:, spec.label_index].float()
        chosen_scores, rejected_scores = scores[: len(rows)], scores[len(rows):]
        loss = bradley_terry_loss(chosen_scores, rejected_scores)
        return loss, {f"{prefix}/loss": loss.item(), f"{prefix}/accuracy": pair_accuracy(chosen_scores, rejected_scores)}

    def evaluate() -> Dict[str, float]:
        if not eval_index:
            return {}
        texts = [chosen[i] for i in eval_index] + [rejected[i] for i in eval_index]
        with torch.no_grad():
            scores = torch.tensor(reward_model_scores(engine.module, tokenizer, texts, training.batch_size,
                                                      training.max_length, spec.label_index))
        chosen_scores, rejected_scores = scores[: len(eval_index)], scores[len(eval_index):]
        return {f"eval/{spec.name}/accuracy": pair_accuracy(chosen_scores, rejected_scores),
                f"eval/{spec.name}/loss": bradley_terry_loss(chosen_scores, rejected_scores).item()}

    settings = LoopSettings(
        name=f"reward model '{spec.name}'",
        steps=total_steps(len(train_index), training),
        batch_size=training.batch_size, micro_batch_size=training.micro_batch_size, seed=config.run.seed,
        checkpoint_every=config.run.checkpoint_every, keep_checkpoints=config.run.keep_checkpoints,
        resume=config.run.resume == "auto", progress=config.run.progress, metrics_marker=f"/{spec.name}/",
    )
    result = fit(engine, len(train_index), loss_of, evaluate, settings, metrics,
                 checkpoint_root=output_dir / "checkpoints" / spec.name)
    engine.save_pretrained(output_dir / "final" / spec.name, tokenizer)
    write_record(output_dir / "final" / spec.name, spec, config.data.prompt_format)
    logger.info("reward model '%s': %s", spec.name, result)
    return result
