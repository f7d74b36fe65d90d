"""The data stages of MORA (Fig. 3, steps 1-4): pre-sample, detect, rewrite, self-play, max-margin pairs.

Each ``*_stage`` function computes one stage inside its directory (``pro_rl.training.mora_stages``): it writes the
stage's rows as JSONL and returns the values it reports. The formulas are in ``pro_rl.algorithms.mora``, the
rewriting in ``pro_rl.data.mora_rewrite``; generation and scoring go through the ``generator`` the pipeline opened
(``generate(prompts, n, seed)``, ``score(prompts, responses)``, ``use_policy(path)``).

Rows. A rollout row is ``{"prompt", "original", "responses": [n], "rewards": [n][K]}`` (``original`` is the mined
prompt P a rewrite P' or an elaboration came from: P and P' both stay in the data, linked). A rewrite row is
``{"original", "rewrite", "elaboration", "dominant", "added"}``; a pair row ``{"prompt", "original", "chosen",
"rejected", "margin", "objective"}`` (``objective``: the one whose reward picked it, or "total").

Arms: the prompts each DPO arm rolls out on — ``mora`` the rewrites P', ``original`` the mined prompts P as they
are (the control), ``elaboration`` the single-objective elaborations of P' length (the referee's ablation). A mined
prompt whose rewrite or elaboration fails the validity check (``rewrite_problem``) is counted by reason and left
out of every arm, so that all arms share the same prompts.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from pro_rl.algorithms.mora import (detection_scores, max_margin_pairs, pareto_coverage, prompt_statistics,
                                    reward_dimension_variance, single_reward_mask)
from pro_rl.config.schema import ProRLConfig
from pro_rl.data.canonical import write_jsonl
from pro_rl.data.mora_rewrite import (elaborate, load_template, parse_rewrite, rebuild_prompt, rewrite_problem,
                                      rewrite_request, template_rewrite, token_count, word_count)
from pro_rl.training.wic_data import reward_log

logger = logging.getLogger("pro_rl.training")

ARM_PROMPT = {"mora": "rewrite", "original": "original", "elaboration": "elaboration"}  # arm -> rewrite-row column


def sample_and_score(generator, prompts: Sequence[str], originals: Sequence[str], num_samples: int,
                     seed: int) -> List[dict]:
    """Rollout rows: ``num_samples`` responses per prompt, scored."""
    if not prompts:
        return []
    rollouts = generator.generate(list(prompts), num_samples, seed)
    rewards = generator.score(rollouts.prompts, rollouts.responses).tolist()
    return [{"prompt": prompt, "original": original,
             "responses": rollouts.responses[i * num_samples:(i + 1) * num_samples],
             "rewards": rewards[i * num_samples:(i + 1) * num_samples]}
            for i, (prompt, original) in enumerate(zip(prompts, originals))]


def reward_matrix(rows: Sequence[dict]) -> torch.Tensor:
    """The (N * n, K) float64 reward matrix of rollout rows, the samples of a prompt contiguous."""
    return torch.tensor([scores for row in rows for scores in row["rewards"]], dtype=torch.float64)


def coverage_box(config: ProRLConfig, rewards: torch.Tensor) -> List[List[float]]:
    """[[reference], [ideal]] of the Pareto-coverage ratio: ``mora.coverage_box``, else the lowest and highest
    score of each objective in ``rewards`` (an objective that never varied gets a box of height 1)."""
    if config.mora.coverage_box:
        return [list(map(float, corner)) for corner in config.mora.coverage_box]
    low, high = rewards.min(dim=0).values, rewards.max(dim=0).values
    return [low.tolist(), torch.where(high > low, high, low + 1).tolist()]


def reward_measures(rows: Sequence[dict], num_samples: int, box: List[List[float]],
                    objectives: Sequence[str]) -> Dict[str, float]:
    """The referee's measures of rollout rows: per-objective within-prompt variance (``variance/<objective>``,
    and their mean ``variance/mean``), the mean Pareto-coverage ratio (``coverage``) and the mean reward
    (``reward/<objective>/mean``)."""
    if not rows:
        return {}
    rewards = reward_matrix(rows)
    variance = reward_dimension_variance(rewards, num_samples)
    return {**{f"variance/{name}": float(value) for name, value in zip(objectives, variance)},
            "variance/mean": float(variance.mean()),
            "coverage": float(pareto_coverage(rewards, num_samples, box[0], box[1]).mean()),
            **reward_log(objectives, rewards)}


def presample_stage(config: ProRLConfig, generator, prompts: Sequence[str], stage_dir: Path) -> Dict[str, object]:
    """Step 1 (target mining): n samples per prompt with the warm-up policy, scored; the coverage box is fixed
    here for the whole run."""
    n = config.mora.samples_per_prompt
    rows = sample_and_score(generator, prompts, prompts, n, config.run.seed)
    write_jsonl(rows, stage_dir / "rollouts.jsonl")
    box = coverage_box(config, reward_matrix(rows))
    return {"prompts": len(rows), "samples": len(rows) * n, "coverage_box": box,
            **reward_measures(rows, n, box, config.objectives)}


def detect_stage(config: ProRLConfig, rows: Sequence[dict], truth: Optional[Sequence[bool]],
                 stage_dir: Path) -> Dict[str, object]:
    """Single-reward detection on the pre-sampled scores; precision and recall against ``truth`` when known."""
    mora, objectives = config.mora, config.objectives
    statistics = prompt_statistics(reward_matrix(rows), mora.samples_per_prompt)
    mask, dominant = single_reward_mask(getattr(statistics, mora.detect_statistic), mora.detect_high, mora.detect_low)
    detected = [{"prompt": row["prompt"], "single_reward": bool(single), "dominant": objectives[int(k)],
                 **({"truth": bool(truth[i])} if truth is not None else {})}
                for i, (row, single, k) in enumerate(zip(rows, mask.tolist(), dominant.tolist()))]
    write_jsonl(detected, stage_dir / "detected.jsonl")
    values: Dict[str, object] = {"prompts": len(rows), "mined": int(mask.sum())}
    if truth is not None:
        values.update(detection_scores(mask, torch.tensor(list(truth), dtype=torch.bool)))
    return values


def lm_rewrites(config: ProRLConfig, open_generator, mined: Sequence[dict], phrases: Dict[str, str],
                added: Sequence[List[str]]) -> List[str]:
    """P' of each mined prompt from the rewriter LM (``mora.rewriter_model``, in a generator of its own): the
    Fig. 9-style request, one sampled answer, parsed and put back into P's conversation format."""
    template = load_template(config.mora.rewrite_template)
    requests = [rewrite_request(template, row["prompt"], [phrases[k] for k in intents])
                for row, intents in zip(mined, added)]
    with open_generator(config.mora.rewriter_model) as rewriter:
        answers = rewriter.generate(requests, 1, config.run.seed).responses
    return [rebuild_prompt(row["prompt"], parse_rewrite(answer)) for row, answer in zip(mined, answers)]


def rewrite_stage(config: ProRLConfig, detected: Sequence[dict], phrases: Dict[str, str], tokenizer,
                  open_generator, stage_dir: Path) -> Dict[str, object]:
    """Step 2 (intent fusion): P' for every mined prompt (the missing intents added; ``open_generator(path)`` opens
    the LM rewriter's generator) and the equal-length single-objective elaboration of the ablation (its length in
    ``tokenizer``'s tokens or in words); invalid ones are counted by reason (``skipped`` {"<mora or elaboration>/
    <reason>": count}) and their prompt is dropped from every arm."""
    mora, objectives = config.mora, config.objectives
    mined = [row for row in detected if row["single_reward"]]
    added = [[k for k in objectives if k != row["dominant"]] for row in mined]
    if mora.rewriter == "lm":
        rewrites = lm_rewrites(config, open_generator, mined, phrases, added)
    else:
        rewrites = [template_rewrite(row["prompt"], intents, phrases) for row, intents in zip(mined, added)]
    length = token_count(tokenizer) if mora.elaboration_length == "tokens" else word_count
    kept, skipped = [], {}
    for row, intents, rewrite in zip(mined, added, rewrites):
        problem = rewrite_problem(row["prompt"], rewrite, mora.max_rewrite_words, mora.rewrite_keep_fraction)
        elaboration = "" if problem else elaborate(row["prompt"], length(rewrite), length, phrases[row["dominant"]])
        elaboration_problem = None if problem else rewrite_problem(row["prompt"], elaboration, mora.max_rewrite_words,
                                                                   mora.rewrite_keep_fraction)
        for arm, reason in (("mora", problem), ("elaboration", elaboration_problem)):
            if reason:
                skipped[f"{arm}/{reason}"] = skipped.get(f"{arm}/{reason}", 0) + 1
        if problem or elaboration_problem:
            continue
        kept.append({"original": row["prompt"], "rewrite": rewrite, "elaboration": elaboration,
                     "dominant": row["dominant"], "added": intents,
                     "length": {"original": length(row["prompt"]), "rewrite": length(rewrite),
                                "elaboration": length(elaboration)}})
    write_jsonl(kept, stage_dir / "rewrites.jsonl")
    if skipped:
        logger.warning("mora: %d of %d rewrites skipped: %s", len(mined) - len(kept), len(mined), skipped)
    gap = [abs(row["length"]["elaboration"] - row["length"]["rewrite"]) for row in kept]
    return {"mined": len(mined), "kept": len(kept), "skipped": skipped,
            "length_gap/mean": sum(gap) / len(gap) if gap else 0.0, "length_gap/max": max(gap, default=0)}


def selfplay_stage(config: ProRLConfig, generator, rewrites: Sequence[dict], box: List[List[float]], seed: int,
                   stage_dir: Path) -> Dict[str, object]:
    """Step 3 (self-play): n samples on each arm's prompts with the warm-up policy (seed ``seed``), scored; the
    referee's measures per arm (``<arm>/variance/...``, ``<arm>/coverage``): before (``original``) vs after
    rewriting (``mora``) vs the ablation (``elaboration``)."""
    n, values = config.mora.samples_per_prompt, {}
    for arm in config.mora.arms:
        originals = [row["original"] for row in rewrites]
        rows = sample_and_score(generator, [row[ARM_PROMPT[arm]] for row in rewrites], originals, n, seed)
        write_jsonl(rows, stage_dir / f"rollouts_{arm}.jsonl")
        measures = reward_measures(rows, n, box, config.objectives)
        values.update({f"{arm}/{key}": value for key, value in measures.items()})
    return values


def pair_totals(config: ProRLConfig, rewards: torch.Tensor) -> Dict[str, torch.Tensor]:
    """What picks the pairs: ``{"total": weighted sum}`` (simultaneous mode; ``mora.pair_weights``, else the plain
    sum) or ``{objective: its column}`` per objective in ``mora.objective_order`` (sequential mode)."""
    objectives = config.objectives
    if config.mora.mode == "sequential":
        order = list(config.mora.objective_order) or list(objectives)
        return {name: rewards[:, objectives.index(name)] for name in order}
    weights = torch.tensor(list(config.mora.pair_weights) or [1.0] * len(objectives), dtype=torch.float64)
    return {"total": rewards @ weights}


def max_margin_rows(rows: Sequence[dict], totals: torch.Tensor, num_samples: int, objective: str) -> List[dict]:
    """Step 4 (max-margin selection): per prompt the pair of largest margin; tied prompts give none."""
    chosen, rejected, margin, has_pair = max_margin_pairs(totals, num_samples)
    responses = [response for row in rows for response in row["responses"]]
    return [{"prompt": row["prompt"], "original": row["original"], "chosen": responses[int(chosen[i])],
             "rejected": responses[int(rejected[i])], "margin": float(margin[i]), "objective": objective}
            for i, row in enumerate(rows) if bool(has_pair[i])]


def pairs_stage(config: ProRLConfig, rollouts: Dict[str, List[dict]], stage_dir: Path) -> Dict[str, object]:
    """The DPO pairs of every arm (``pairs_<arm>.jsonl``, all objectives of the sequential mode in one file);
    ``<arm>/pairs/<objective or total>`` counts them and ``<arm>/margin/...`` gives their mean margin."""
    values: Dict[str, object] = {}
    for arm, rows in rollouts.items():
        pairs: List[dict] = []
        if rows:
            for name, totals in pair_totals(config, reward_matrix(rows)).items():
                chosen = max_margin_rows(rows, totals, config.mora.samples_per_prompt, name)
                values[f"{arm}/pairs/{name}"] = len(chosen)
                values[f"{arm}/margin/{name}"] = sum(p["margin"] for p in chosen) / len(chosen) if chosen else 0.0
                pairs += chosen
        write_jsonl(pairs, stage_dir / f"pairs_{arm}.jsonl")
    return values
