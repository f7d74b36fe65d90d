"""Step 7 of one RL step: the policy and critic updates on a ``TrainEngine`` (RLOO, PPO, online DPO).

Each update runs ``epochs`` passes over the batch. A pass visits the rows in a fresh shuffled order (seeded, so a
resumed run repeats it) and cuts them into mini-batches; one mini-batch is one optimizer step, made of
micro-batches whose gradients DeepSpeed accumulates. The losses are the ``pro_rl.algorithms`` functions:
``sequence_clipped_loss`` (RLOO's sequence-level ratio), ``ppo_policy_loss`` / ``ppo_value_loss`` (token level),
``dpo_loss`` (sequence-summed log-probs).

Contract with the engine: build it with ``EngineSettings(batch_size=<mini-batch size>,
micro_batch_size=<micro-batch size>)``. Each micro-batch loss is a mean over its own sequences (tokens for PPO) and
DeepSpeed divides it by ``gradient_accumulation_steps``, so a mini-batch step follows the mean loss over the
mini-batch. The updates check this and raise ``ValueError`` when the sizes disagree, since a mismatch would step the
optimizer at the wrong micro-batch. The number of rows (pairs for DPO) must be a multiple of the mini-batch size.

Training groups: on a rank of an N-rank group (``EngineSettings.world_size = N``) every rank receives the whole
batch, draws the same seeded mini-batches and trains on its contiguous 1/N of each (``distributed.rank_share``) in
micro-batches of ``micro_batch_size``; DeepSpeed averages the gradients over the ranks, so the step equals the
single-rank step on the same batch. The mini-batch size must then be a multiple of N × the micro-batch size, and
the statistics returned are this rank's (the group averages them).

Modes: the updates call ``engine.train()``. Dropout should be off in RL models (as the peers do), or the ratio
against the old log-probs is noisy from the first step.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Callable, Iterator

import torch
from torch import Tensor

from pro_rl.algorithms import (
    dpo_loss,
    kl_penalty,
    masked_mean,
    ppo_policy_loss,
    ppo_value_loss,
    sequence_clipped_loss,
    sum_masked,
)
from pro_rl.training.distributed import rank_share
from pro_rl.training.sequences import SequenceBatch, response_logprobs, response_values


def batch_sizes(engine, num_rows: int, mini_batch_size: int = 0, micro_batch_size: int = 0) -> tuple[int, int]:
    """``(mini, micro)`` sizes for an update over ``num_rows`` rows, checked against the engine's settings.

    ``mini_batch_size`` 0 means the whole batch; ``micro_batch_size`` 0 means the engine's micro-batch size.
    """
    settings = engine.settings
    world = settings.world_size
    mini = mini_batch_size or num_rows
    micro = micro_batch_size or settings.micro_batch_size or mini // world
    if num_rows % mini or micro < 1 or mini % (micro * world):
        ranks = f" over {world} ranks" if world > 1 else ""
        raise ValueError(f"{num_rows} rows do not split into mini-batches of {mini} and micro-batches of {micro}"
                         f"{ranks}")
    if settings.batch_size != mini or settings.gradient_accumulation_steps != mini // (micro * world):
        raise ValueError(
            f"the engine was built for batch_size={settings.batch_size} with "
            f"{settings.gradient_accumulation_steps} accumulation steps, but this update uses mini-batches of {mini} "
            f"in micro-batches of {micro}; build the engine with batch_size=mini-batch size and "
            f"micro_batch_size=micro-batch size"
        )
    return mini, micro


def shuffled_mini_batches(num_rows: int, mini_batch_size: int, epochs: int, seed: int) -> Iterator[Tensor]:
    """Row indices of each mini-batch: ``epochs`` passes, each in a new order drawn from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        order = torch.randperm(num_rows, generator=generator)
        yield from order.split(mini_batch_size)


def _run_update(engine, num_rows: int, micro_loss: Callable[[Tensor], tuple[Tensor, dict[str, float]]],
                epochs: int, mini_batch_size: int, micro_batch_size: int, seed: int) -> dict[str, float]:
    """Backward and step over every micro-batch of every mini-batch; the mean of the micro-batch stats."""
    mini, micro = batch_sizes(engine, num_rows, mini_batch_size, micro_batch_size)
    rank, world = getattr(engine, "rank", 0), engine.settings.world_size
    engine.train()
    totals: dict[str, float] = defaultdict(float)
    count = 0
    for mini_indices in shuffled_mini_batches(num_rows, mini, epochs, seed):
        for micro_indices in rank_share(mini_indices, rank, world).split(micro):
            loss, stats = micro_loss(micro_indices)
            engine.backward(loss)
            engine.step()
            for key, value in stats.items():
                totals[key] += value
            count += 1
    means = {key: value / max(count, 1) for key, value in totals.items()}
    means["optimizer/steps"] = float(epochs * (num_rows // mini))
    means["optimizer/lr"] = engine.learning_rate()
    return means


def rloo_update(engine, batch: SequenceBatch, old_logprobs: Tensor, advantages: Tensor, clip_eps: float = 0.2,
                epochs: int = 1, mini_batch_size: int = 0, micro_batch_size: int = 0, temperature: float = 1.0,
                seed: int = 0) -> dict[str, float]:
    """RLOO policy update with one clipped ratio per sequence.

    Args:
        engine: the policy ``TrainEngine``.
        batch: N sequences on the engine's device.
        old_logprobs: (N, R) per-token log-probs of the sampling policy.
        advantages: (N,) from ``rloo_sequence_advantages``.
        clip_eps, epochs, mini_batch_size, micro_batch_size, temperature, seed: see the module docstring.

    Returns:
        ``loss/policy``, ``policy/clipfrac``, ``policy/ratio_mean``, ``policy/approx_kl`` (token mean of k2 between
        the current and the old policy), ``optimizer/steps``, ``optimizer/lr``.
    """
    def micro_loss(indices: Tensor) -> tuple[Tensor, dict[str, float]]:
        micro = batch.select(indices)
        logprobs = response_logprobs(engine, micro, temperature=temperature)
        loss, stats = sequence_clipped_loss(sum_masked(logprobs, micro.response_mask),
                                            sum_masked(old_logprobs[indices], micro.response_mask),
                                            advantages[indices], clip_eps)
        approx_kl = masked_mean(kl_penalty(logprobs.detach(), old_logprobs[indices], "k2"), micro.response_mask)
        return loss, {"loss/policy": loss.item(), "policy/clipfrac": stats["clipfrac"],
                      "policy/ratio_mean": stats["ratio_mean"], "policy/approx_kl": float(approx_kl)}

    return _run_update(engine, len(batch), micro_loss, epochs, mini_batch_size, micro_batch_size, seed)


def ppo_policy_update(engine, batch: SequenceBatch, old_logprobs: Tensor, advantages: Tensor, clip_eps: float = 0.2,
                      epochs: int = 4, mini_batch_size: int = 0, micro_batch_size: int = 0, temperature: float = 1.0,
                      seed: int = 0) -> dict[str, float]:
    """PPO policy update with a clipped ratio per token.

    Args:
        engine: the policy ``TrainEngine``.
        batch: N sequences on the engine's device.
        old_logprobs: (N, R) per-token log-probs of the sampling policy.
        advantages: (N, R) whitened advantages from ``ppo_token_advantages``.

    Returns:
        ``loss/policy``, ``policy/clipfrac``, ``policy/approx_kl``, ``optimizer/steps``, ``optimizer/lr``.
    """
    def micro_loss(indices: Tensor) -> tuple[Tensor, dict[str, float]]:
        micro = batch.select(indices)
        logprobs = response_logprobs(engine, micro, temperature=temperature)
        loss, stats = ppo_policy_loss(logprobs, old_logprobs[indices], advantages[indices], micro.response_mask,
                                      clip_eps)
        return loss, {"loss/policy": loss.item(), "policy/clipfrac": stats["clipfrac"],
                      "policy/approx_kl": stats["approx_kl"]}

    return _run_update(engine, len(batch), micro_loss, epochs, mini_batch_size, micro_batch_size, seed)


def ppo_critic_update(engine, batch: SequenceBatch, old_values: Tensor, returns: Tensor, clip_eps: float = 0.2,
                      epochs: int = 4, mini_batch_size: int = 0, micro_batch_size: int = 0, vf_coef: float = 1.0,
                      seed: int = 0) -> dict[str, float]:
    """Critic update with the clipped value loss.

    Args:
        engine: the critic ``TrainEngine``.
        batch: N sequences on the engine's device.
        old_values: (N, R) values at generation time; returns: (N, R) GAE targets.
        vf_coef: scales the loss before backward (with a separate critic optimizer it acts through gradient
            clipping and the learning rate only); ``loss/value`` is reported unscaled.

    Returns:
        ``loss/value``, ``value/clipfrac``, ``value/mean``, ``optimizer/steps``, ``optimizer/lr``.
    """
    def micro_loss(indices: Tensor) -> tuple[Tensor, dict[str, float]]:
        micro = batch.select(indices)
        values = response_values(engine, micro)
        loss, stats = ppo_value_loss(values, old_values[indices], returns[indices], micro.response_mask, clip_eps)
        return vf_coef * loss, {"loss/value": loss.item(), "value/clipfrac": stats["vf_clipfrac"],
                                "value/mean": stats["value_mean"]}

    return _run_update(engine, len(batch), micro_loss, epochs, mini_batch_size, micro_batch_size, seed)


def dpo_update(engine, pairs: SequenceBatch, ref_chosen_logps: Tensor, ref_rejected_logps: Tensor, beta: float = 0.1,
               loss_type: str = "sigmoid", epochs: int = 1, mini_batch_size: int = 0, micro_batch_size: int = 0,
               temperature: float = 1.0, seed: int = 0) -> dict[str, float]:
    """Online DPO / IPO update on B (chosen, rejected) pairs; sizes count pairs.

    Args:
        engine: the policy ``TrainEngine``.
        pairs: 2B sequences, the B chosen ones first, then the B rejected ones in the same prompt order
            (``dpo_pairs`` then ``select``); a micro-batch's chosen and rejected rows go through one forward pass.
        ref_chosen_logps, ref_rejected_logps: (B,) sequence-summed reference log-probs.
        beta, loss_type: see ``dpo_loss``.

    Returns:
        ``loss/policy``, ``dpo/reward_margin``, ``dpo/accuracy``, ``kl/mean`` (= ``kl/seq_mean``), ``kl/token_mean``,
        ``optimizer/steps``, ``optimizer/lr``. ``kl/mean`` is the k1 estimate (``kl_penalty`` of the
        sequence-summed log-probs: policy minus reference, summed over each response) averaged over the chosen and
        rejected responses; ``kl/token_mean`` divides the same sum by their response tokens (TRL's measure). Both
        are read off the loss's own forward passes: with one epoch of one mini-batch that is the policy as it
        sampled, so no separate old-policy pass is needed.
    """
    if len(pairs) % 2:
        raise ValueError(f"{len(pairs)} sequences cannot hold (chosen, rejected) pairs")
    num_pairs = len(pairs) // 2

    def micro_loss(indices: Tensor) -> tuple[Tensor, dict[str, float]]:
        sequences = pairs.select(torch.cat([indices, indices + num_pairs]))
        sequence_logps = sum_masked(response_logprobs(engine, sequences, temperature=temperature),
                                    sequences.response_mask)
        chosen_logps, rejected_logps = sequence_logps.split(len(indices))
        ref_chosen, ref_rejected = ref_chosen_logps[indices], ref_rejected_logps[indices]
        loss, stats = dpo_loss(chosen_logps, rejected_logps, ref_chosen, ref_rejected, beta, loss_type)
        sequence_kl = kl_penalty(torch.cat([chosen_logps, rejected_logps]).detach(),
                                 torch.cat([ref_chosen, ref_rejected]), "k1")
        kl, tokens = sequence_kl.mean(), sequences.response_mask.sum().clamp(min=1.0)
        return loss, {"loss/policy": loss.item(), "dpo/reward_margin": stats["reward_margin"],
                      "dpo/accuracy": stats["accuracy"], "kl/mean": float(kl), "kl/seq_mean": float(kl),
                      "kl/token_mean": float(sequence_kl.sum() / tokens)}

    return _run_update(engine, num_pairs, micro_loss, epochs, mini_batch_size, micro_batch_size, seed)
