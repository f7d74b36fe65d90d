"""Config section of MORA (``mora:``, pipeline ``mora``) and its validation; ``schema.py`` puts it into
``ProRLConfig`` and ``validate`` calls ``validate_mora``.

MORA (Multi-Objective Reward Assimilation, arXiv 2605.11679, Fig. 3): pre-sample n responses per prompt, mine the
prompts where only one objective scores high (single-reward), rewrite them to carry the missing intents, roll out on
the rewrites (self-play), keep per prompt the pair with the largest reward margin, and train DPO on those pairs. The
paper publishes no thresholds; every default below is ours, chosen on the capped toy world
(``pro_rl.data.mora_world``) and documented in ``pro_rl.training.mora``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from pro_rl.config.errors import fail, one_of
from pro_rl.config.fields import AT_LEAST_ONE, NON_NEGATIVE, Range, _field, _section
from pro_rl.config.sections import TrainingConfig

MORA_WORLDS = ("capped", "data")
MORA_REWRITERS = ("template", "lm")
MORA_MODES = ("simultaneous", "sequential")
MORA_ARMS = ("mora", "original", "elaboration")


@dataclass
class MoraConfig:
    """MORA: pre-sampling, single-reward detection, intent-fusion rewriting, self-play and max-margin DPO."""

    world: str = _field("capped", "Where prompts come from: 'capped' writes the capped toy world (pro_rl.data.mora_world; its version is recorded) into <run>/world and uses its prompts, held-out prompts, warm-up rows and ground truth; 'data' reads data.prompts, data.eval_prompts and data.sft (no detection truth).")
    world_seed: int = _field(0, "Seed of the capped toy world's files (the same world for every run.seed).", Range(0, 2**32 - 1))
    presample_prompts: int = _field(0, "Prompts of data.prompts (or the world) that are pre-sampled and mined (0: all).", NON_NEGATIVE)
    samples_per_prompt: int = _field(16, "Responses per prompt in pre-sampling and self-play (the paper's Pass@N: 16 to 64); the max-margin pair needs 2.", Range(2))
    detect_statistic: str = _field("max", "Per-prompt statistic of the n pre-sampled scores that single-reward detection reads: 'max' or 'mean' (pro_rl.algorithms.mora.single_reward_mask).")
    detect_high: float = _field(0.3, "Single-reward detection: the dominant objective's statistic must reach this value.", Range())
    detect_low: float = _field(0.3, "Single-reward detection: every other objective's statistic must stay below this value (<= detect_high). The defaults (max, 0.3, 0.3) are pro_rl.algorithms.mora.DETECTION_DEFAULTS, measured on the capped world.", Range())
    intent_phrases: Dict[str, str] = _field({}, "Objective -> the words that ask for its intent, used by the rewriters and the elaborations (empty: the capped world's INTENT_PHRASES, for helpful, harmless and humor).")
    coverage_box: List[List[float]] = _field([], "Pareto-coverage box [[reference per objective], [ideal per objective]] (empty: the lowest and highest scores seen in pre-sampling).")
    rewriter: str = _field("template", "'template': the deterministic rewriter that keeps the question and appends the missing intents (pro_rl.data.mora_rewrite); 'lm': a causal LM (rewriter_model) fills the Fig. 9-style template through the rollout engines.")
    rewriter_model: str = _field("", "Rewriter 'lm': the causal LM that rewrites (hub id, directory or tiny:<arch>), run on the rollout engines with the rollout settings; its requests are cut to policy.max_prompt_length tokens like every prompt.")
    rewrite_template: str = _field("configs/prompts/mora_rewrite.txt", "Rewriter 'lm': the Fig. 9-style rewrite template ({question} and {intents} are filled in).")
    max_rewrite_words: int = _field(96, "A rewrite (or elaboration) whose question has more words than this is over-long: counted and skipped, never trained on (pro_rl.data.mora_rewrite.rewrite_problem).", AT_LEAST_ONE)
    rewrite_keep_fraction: float = _field(0.8, "A rewrite that keeps fewer than this share of the original question's distinct words dropped the question: counted and skipped.", Range(0, 1))
    elaboration_length: str = _field("tokens", "How the ablation's elaborations are matched in length to the multi-intent rewrites: 'tokens' (of the policy's tokenizer, what the policy reads) or 'words'.")
    pair_weights: List[float] = _field([], "Weights of the summed reward whose margin picks each prompt's pair (empty: the plain sum over objectives).")
    mode: str = _field("simultaneous", "'simultaneous': one DPO stage on pairs picked by the (weighted) summed reward; 'sequential': one DPO stage per objective (objective_order), each on pairs picked by that objective's reward and starting from the previous stage's policy (the paper's Fig. 4).")
    objective_order: List[str] = _field([], "Mode 'sequential': the order of the objectives (empty: the reward_models order).")
    arms: List[str] = _field(list(MORA_ARMS), "What is trained and evaluated, each from the warm-up policy: 'mora' (pairs on the rewrites P'), 'original' (pairs on the mined prompts P as they are: the control), 'elaboration' (pairs on single-objective elaborations of the same length as P': the referee's ablation).")
    with_original: bool = _field(False, "MORA data as additional data (the paper's Fig. 5): the 'mora' and 'elaboration' arms (and the scaling curve) train on the control's pairs of the mined prompts P plus their own, instead of their own alone; needs the 'original' arm.")
    scaling_fractions: List[float] = _field([0.25, 0.5], "Data-scaling curve (Fig. 5): also train the 'mora' arm on these fractions of its pairs (the full set is the arm itself; first seed only; empty: no curve).")
    eval_prompts: int = _field(0, "Held-out prompts each trained policy is evaluated on (0: all).", NON_NEGATIVE)
    eval_samples: int = _field(4, "Responses per held-out prompt in the evaluation.", AT_LEAST_ONE)
    training: TrainingConfig = _section(lambda: TrainingConfig(learning_rate=5e-7, batch_size=32, epochs=1.0, max_length=1024, eval_fraction=0.05), "How each DPO stage trains; the DPO β and loss are algorithm.dpo_beta and algorithm.dpo_loss, and pairs are cut like rollouts (prompts to policy.max_prompt_length tokens, responses to rollout.max_new_tokens), so max_length is not read.")


def validate_mora(config, origin: str) -> None:
    """The mora section's choices, and what the mora pipeline needs (objectives, prompts, a rewriter)."""
    mora, names = config.mora, config.objectives
    one_of(origin, "mora.world", mora.world, MORA_WORLDS)
    one_of(origin, "mora.rewriter", mora.rewriter, MORA_REWRITERS)
    one_of(origin, "mora.mode", mora.mode, MORA_MODES)
    one_of(origin, "mora.detect_statistic", mora.detect_statistic, ("max", "mean"))
    if mora.detect_low > mora.detect_high:
        fail(origin, "mora.detect_low", f"{mora.detect_low} is above mora.detect_high ({mora.detect_high})")
    one_of(origin, "mora.elaboration_length", mora.elaboration_length, ("tokens", "words"))
    for index, arm in enumerate(mora.arms):
        one_of(origin, f"mora.arms.{index}", arm, MORA_ARMS)
    if len(set(mora.arms)) != len(mora.arms):
        fail(origin, "mora.arms", f"name each arm once, got {list(mora.arms)}")
    for index, fraction in enumerate(mora.scaling_fractions):
        if fraction not in Range(0, 1, low_open=True, high_open=True):
            fail(origin, f"mora.scaling_fractions.{index}", f"must be in (0, 1), got {fraction}")
    if config.pipeline != "mora":
        return
    if len(names) < 2:
        fail(origin, "reward_models", f"MORA needs at least two objectives, got {names}")
    if "mora" not in mora.arms:
        fail(origin, "mora.arms", "must include 'mora'")
    if mora.with_original and "original" not in mora.arms:
        fail(origin, "mora.with_original", "is true, which adds the 'original' arm's pairs to the others; add 'original' to mora.arms")
    if mora.pair_weights and (len(mora.pair_weights) != len(names) or min(mora.pair_weights) < 0):
        fail(origin, "mora.pair_weights", f"{list(mora.pair_weights)}: needs {len(names)} weights >= 0, one per "
                                          f"objective {names}")
    if mora.objective_order and sorted(mora.objective_order) != sorted(names):
        fail(origin, "mora.objective_order", f"{list(mora.objective_order)} must name each objective {names} once")
    box = [list(corner) for corner in mora.coverage_box]
    if box and (len(box) != 2 or any(len(corner) != len(names) for corner in box)
                or not all(high > low for low, high in zip(*box))):
        fail(origin, "mora.coverage_box", f"{box}: needs [[reference], [ideal]], {len(names)} values each, ideal above "
                                          "reference")
    if mora.world == "data" and not (config.data.prompts and config.data.eval_prompts):
        fail(origin, "data.prompts", "mora.world is 'data', so data.prompts and data.eval_prompts must be set")
    if mora.world == "data" and config.policy.sft_steps and not config.data.sft:
        fail(origin, "data.sft", "empty, but policy.sft_steps > 0 asks for a warm-up on these rows")
    from pro_rl.data.mora_world import INTENT_PHRASES  # the phrases of the capped world's objectives

    unnamed = [name for name in names if name not in (mora.intent_phrases or INTENT_PHRASES)]
    if unnamed:
        fail(origin, "mora.intent_phrases", f"no phrase for objective(s) {unnamed}: the rewriters add intents by them")
    if mora.rewriter == "lm" and not mora.rewriter_model:
        fail(origin, "mora.rewriter_model", "empty, but mora.rewriter is 'lm'")
    if mora.rewriter == "lm" and not Path(mora.rewrite_template).is_file():
        fail(origin, "mora.rewrite_template", f"file not found: {mora.rewrite_template}")
