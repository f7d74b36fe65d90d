"""MORA (Multi-Objective Reward Assimilation; Huang et al. 2026, arXiv 2605.11679, Fig. 3) as resumable stages.

The paper's premise: objectives conflict because a prompt caps the rewards a response can reach; rewriting the
prompts that let only one objective score high so that they also ask for the others lifts the caps, and DPO on
max-margin self-play pairs from the rewrites lifts all objectives at once. The stages, each in
``<run>/stages/<name>`` and skipped when a resumed run finds it finished (``pro_rl.training.mora_stages``):

    warmup              SFT of ``policy.model`` on the warm-up rows (``policy.sft_steps``; 0: the model is warm)
    presample           step 1, target mining: ``mora.samples_per_prompt`` responses per prompt, scored
    detect              single-reward prompts from the per-prompt statistics (``mora.detect_*``), with precision
                        and recall against the world's ground truth when it has one
    rewrite             step 2, intent fusion: P -> P' (template or LM rewriter), plus the ablation's equal-length
                        single-objective elaboration; invalid rewrites counted by reason and skipped
    selfplay-seed<s>    step 3: n responses on P (control), P' (MORA) and the elaborations, with the warm-up policy
    pairs-seed<s>       step 4: per prompt the max-margin pair by summed (``mora.pair_weights``) reward, or per
                        objective in the sequential mode
    dpo-<arm>-seed<s>   step 5: DPO from the warm-up policy (sequential: ``-<objective>`` stages, each from the last)
    eval-<arm>-seed<s>  the policy's rewards on the held-out prompts (and ``eval-warm-seed<s>`` for the warm-up)
    dpo/eval-mora-frac<f>-seed<s>  the data-scaling curve (Fig. 5): the MORA arm on a fraction f of its pairs

Steps 3-5 and the evaluations repeat for the seeds ``run.seed, run.seed + 1, ...`` (``run.seeds``); the headline is
mean ± std over them. The first seed's MORA policy is copied to ``final/policy``. Where nothing is mined (rewards
that cap no objective, as in the uncapped toy world) or every rewrite fails its check, there are no pairs: the arms
keep the warm-up policy, with a warning, and the report says so.

Choices the paper leaves open (all ours, configurable): detection reads the max over the samples (threshold 0.3 on
the capped world's scale, ``pro_rl.algorithms.mora.DETECTION_DEFAULTS``); the rewrite adds every objective but the
dominant one; each arm trains on pairs of its own prompts, starting from the same warm-up policy, for the same
number of steps when ``mora.training.max_steps`` fixes it; the evaluation prompts are not rewritten (users send
their prompts as they are).

Layout: this module is the driver (``train_mora`` and the per-seed loop); ``mora_data`` reads the inputs,
``mora_mining`` holds the data stages (presample to pairs), ``mora_dpo`` the DPO stage, ``mora_stages`` the stage
records, ``mora_summary`` the summary of the report (``pipelines.mora_report``).
"""

from __future__ import annotations

import logging
import random
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Callable, ContextManager, Dict, List

from pro_rl.config.schema import ProRLConfig
from pro_rl.data.canonical import write_jsonl
from pro_rl.models.builders import load_tokenizer
from pro_rl.training.metrics import MetricsLogger
from pro_rl.training.mora_data import MoraInputs, write_world_copy
from pro_rl.training.mora_dpo import train_dpo_stage
from pro_rl.training.mora_mining import (detect_stage, pairs_stage, presample_stage, reward_matrix, rewrite_stage,
                                         sample_and_score, selfplay_stage)
from pro_rl.training.mora_stages import MoraStages
from pro_rl.training.run_dir import settings_digest
from pro_rl.training.mora_summary import mora_summary, summary_metrics
from pro_rl.training.wic_data import reward_log
from pro_rl.training.wic_stages import prefixed, sft_stage

logger = logging.getLogger("pro_rl.training")

OpenGenerator = Callable[[str], ContextManager]  # policy path -> a generator (generate, score, use_policy)


def warm_up(config: ProRLConfig, stages: MoraStages, inputs: MoraInputs) -> str:
    """The warm-up policy: ``policy.model`` fine-tuned on the warm-up rows for ``policy.sft_steps`` steps."""
    if config.policy.sft_steps == 0:
        return config.policy.model

    def compute(stage_dir: Path) -> Dict[str, object]:
        _, result = sft_stage(config, inputs.warmup_rows, stage_dir, config.policy.model, config.policy.sft_steps)
        return prefixed(result, "warmup")

    stages.run("warmup", compute)
    return stages.policy("warmup")


def evaluate_policy(config: ProRLConfig, stages: MoraStages, generator, name: str, policy: str,
                    inputs: MoraInputs, seed: int) -> Dict[str, object]:
    """Stage ``name``: ``mora.eval_samples`` responses per held-out prompt from ``policy``, scored; the mean reward
    per objective, overall and (with ground truth) on the single-intent and multi-intent prompts apart."""

    def compute(stage_dir: Path) -> Dict[str, object]:
        generator.use_policy(policy)
        rows = sample_and_score(generator, inputs.eval_prompts, inputs.eval_prompts, config.mora.eval_samples, seed)
        write_jsonl(rows, stage_dir / "rollouts.jsonl")
        values = mean_rewards(config, rows)
        if inputs.eval_single_truth is not None:
            for label, wanted in (("single", True), ("multi", False)):
                subset = [row for row, single in zip(rows, inputs.eval_single_truth) if single == wanted]
                values.update({f"{label}/{key}": value for key, value in mean_rewards(config, subset).items()})
        return values

    return stages.run(name, compute)


def mean_rewards(config: ProRLConfig, rows: List[dict]) -> Dict[str, float]:
    """``reward/<objective>/mean`` over every sample of rollout rows (none without rows)."""
    return reward_log(config.objectives, reward_matrix(rows)) if rows else {}


def train_arm(config: ProRLConfig, stages: MoraStages, name: str, pairs: List[dict], warm: str, seed: int) -> str:
    """DPO of the warm-up policy on ``pairs``: one stage ``dpo-<name>`` (simultaneous), or one per objective in
    order, each from the previous stage's policy (sequential). Objectives without pairs are left out; with no pair
    at all the warm-up policy is returned as it is."""
    policy = warm
    for objective in dict.fromkeys(pair["objective"] for pair in pairs):
        stage = f"dpo-{name}" if objective == "total" else f"dpo-{name}-{objective}"
        chosen = [pair for pair in pairs if pair["objective"] == objective]
        stages.run(stage, lambda stage_dir, init=policy, rows=chosen: train_dpo_stage(config, rows, init, stage_dir,
                                                                                      seed))
        policy = stages.policy(stage)
    if policy == warm:
        logger.warning("mora: %s has no preference pair; its policy is the warm-up policy", name)
    return policy


def run_seed(config: ProRLConfig, stages: MoraStages, generator, warm: str, inputs: MoraInputs,
             rewrites: List[dict], box: List[List[float]], seed: int) -> Dict[str, object]:
    """Self-play, pairs, DPO per arm and the evaluations for one seed."""
    tag, arms = f"seed{seed}", list(config.mora.arms)

    def selfplay(stage_dir: Path) -> Dict[str, object]:
        generator.use_policy(warm)
        return selfplay_stage(config, generator, rewrites, box, seed, stage_dir)

    selfplay_values = stages.run(f"selfplay-{tag}", selfplay)
    rollouts = {arm: stages.rows(f"selfplay-{tag}", f"rollouts_{arm}.jsonl") for arm in arms}
    pair_values = stages.run(f"pairs-{tag}", lambda stage_dir: pairs_stage(config, rollouts, stage_dir))
    pairs = {arm: stages.rows(f"pairs-{tag}", f"pairs_{arm}.jsonl") for arm in arms}
    mora_pairs = len(pairs["mora"])
    if config.mora.with_original:  # MORA data (and the ablation's) added to the control's pairs
        pairs.update({arm: pairs["original"] + pairs[arm] for arm in arms if arm != "original"})
    evaluations = {"warm": evaluate_policy(config, stages, generator, f"eval-warm-{tag}", warm, inputs, seed)}
    policies = {}
    for arm in arms:
        policies[arm] = train_arm(config, stages, f"{arm}-{tag}", pairs[arm], warm, seed)
        evaluations[arm] = evaluate_policy(config, stages, generator, f"eval-{arm}-{tag}", policies[arm], inputs, seed)
    return {"seed": seed, "selfplay": selfplay_values, "pairs": pair_values, "pair_rows": mora_pairs,
            "scaling_base": "original" if config.mora.with_original else "warm",
            "evaluations": evaluations, "policies": policies}


def scaling_runs(config: ProRLConfig, stages: MoraStages, generator, warm: str, inputs: MoraInputs,
                 seed: int) -> List[Dict[str, object]]:
    """The data-scaling curve: the MORA arm trained on a seeded random ``mora.scaling_fractions`` share of the
    first seed's pairs (the same pairs for every fraction, nested), each evaluated; with ``mora.with_original``,
    on the control's pairs plus that share."""
    pairs = stages.rows(f"pairs-seed{seed}", "pairs_mora.jsonl")
    base = stages.rows(f"pairs-seed{seed}", "pairs_original.jsonl") if config.mora.with_original else []
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    points = []
    for fraction in sorted(config.mora.scaling_fractions):
        subset = base + ([pairs[i] for i in sorted(order[:max(1, round(fraction * len(pairs)))])] if pairs else [])
        name = f"mora-frac{fraction:g}-seed{seed}"
        policy = train_arm(config, stages, name, subset, warm, seed)
        points.append({"fraction": fraction, "pairs": len(subset) - len(base),  # MORA pairs (beside the control's)
                       "evaluation": evaluate_policy(config, stages, generator, f"eval-{name}", policy, inputs, seed)})
    return points


def save_final_policy(policy: str, output_dir: Path) -> None:
    """Copy the first seed's MORA policy to ``final/policy`` (none when it is ``policy.model`` itself and not a
    directory: no warm-up and no pair)."""
    final_dir = output_dir / "final" / "policy"
    if not Path(policy).is_dir():
        logger.warning("mora: the MORA policy is %s itself; final/policy is not written", policy)
        return
    if final_dir.exists():
        shutil.rmtree(final_dir)
    shutil.copytree(policy, final_dir)


def train_mora(config: ProRLConfig, output_dir: Path, metrics: MetricsLogger, inputs: MoraInputs,
               open_generator: OpenGenerator) -> Dict[str, object]:
    """Every MORA stage in order (module docstring); returns the summary of ``pipelines.mora_report``."""
    stages = MoraStages(output_dir, resume=config.run.resume == "auto", digest=settings_digest(config))
    write_world_copy(config, output_dir)
    warm = warm_up(config, stages, inputs)
    phrases = dict(config.mora.intent_phrases) or inputs.phrases
    seeds = [config.run.seed + index for index in range(config.run.seeds)]
    with open_generator(warm) as generator:
        presample = stages.run("presample", lambda d: presample_stage(config, generator, inputs.prompts, d))
        detection = stages.run("detect", lambda d: detect_stage(config, stages.rows("presample", "rollouts.jsonl"),
                                                                inputs.single_truth, d))
    tokenizer = load_tokenizer(replace(config.policy, model=warm))  # the ablation's lengths, in its tokens
    rewriting = stages.run("rewrite", lambda d: rewrite_stage(config, stages.rows("detect", "detected.jsonl"), phrases,
                                                              tokenizer, open_generator, d))
    rewrites = stages.rows("rewrite", "rewrites.jsonl")
    if not rewrites:  # e.g. rewards that cap nothing: the premise does not hold, the arms keep the warm-up policy
        logger.warning("mora: no mined prompt has a valid rewrite (detected %s, skipped %s): no MORA pairs",
                       detection["mined"], rewriting["skipped"])
    with open_generator(warm) as generator:  # closed above: the LM rewriter has a generator of its own
        per_seed = [run_seed(config, stages, generator, warm, inputs, rewrites, presample["coverage_box"], seed)
                    for seed in seeds]
        scaling = scaling_runs(config, stages, generator, warm, inputs, seeds[0])
    save_final_policy(per_seed[0]["policies"]["mora"], output_dir)
    summary = mora_summary(config, inputs, detection, rewriting, per_seed, scaling, stages.directory("presample"))
    metrics.log(0, summary_metrics(summary))
    return summary
