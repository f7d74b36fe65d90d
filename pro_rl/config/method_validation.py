"""Validation of the SGA and MOSLIM sections and pipelines (``validate`` in ``validation.py`` calls these): the sga
section and the sga_sft / sga_dpo inputs, SGA evaluation and inference (a policy with a score head for the same
objectives), MOSLIM's classifier training, its RL run (reward source, weights from tags, levels against the
classifier's heads) and its controllability and evaluate settings. Each failure is one ``ConfigError`` naming the
key and the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import List

from pro_rl.config.errors import ConfigError, fail
from pro_rl.config.errors import one_of as _one_of
from pro_rl.config.model_specs import looks_local
from pro_rl.config.schema import ProRLConfig

def sga_head_objectives(directory: str) -> List[str]:
    """The objectives an SGA policy's score head was trained for (``sga_head.json``), without loading it; a
    directory without the head is a ``ConfigError`` naming it."""
    head_file = Path(directory) / "sga_head.json"
    if not head_file.is_file():
        raise ConfigError(f"{directory} is not an SGA policy: no sga_head.json beside the LM (train one with the "
                          "sga_sft pipeline)")
    try:
        return [str(name) for name in json.loads(head_file.read_text(encoding="utf-8"))["objectives"]]
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise ConfigError(f"{head_file}: cannot be read as an SGA head config: {error}") from None


def _validate_sga(config: ProRLConfig, origin: str) -> None:
    """The sga section and what the sga_sft / sga_dpo pipelines need: objectives, pairs, a score source that fits
    them, and, for a policy that already has a score head, the same objectives in the same order."""
    from pro_rl.config.model_specs import check_model_spec
    from pro_rl.config.method_schema import SGA_SCORE_SOURCES

    sga, names = config.sga, config.objectives
    _one_of(origin, "sga.score_source", sga.score_source, SGA_SCORE_SOURCES)
    if config.pipeline not in ("sga_sft", "sga_dpo"):
        return
    if not names:
        fail(origin, "reward_models", "empty: SGA's score head needs the objectives (reward_models names), one score each")
    if not config.data.general_pairs:
        fail(origin, "data.general_pairs", f"empty, but {config.pipeline} trains on these preference pairs")
    if config.trainer.zero_stage == 3:
        fail(origin, "trainer.zero_stage", "3 is not supported by SGA (the score head is saved from whole weights): use 0 or 2")
    if sga.score_source == "toy_world":
        from pro_rl.data.toy_world import OBJECTIVES as toy_objectives

        unknown = [name for name in names if name not in toy_objectives]
        if unknown:
            fail(origin, "sga.score_source", f"'toy_world' scores the toy world's objectives {list(toy_objectives)}, "
                                             f"not {unknown}")
    policy = config.policy.model
    check_model_spec(origin, "policy.model", policy, True)  # the sga pipelines load it (an offline hub id must be cached)
    if looks_local(policy) and Path(policy).is_dir() and (Path(policy) / "sga_head.json").exists():
        try:
            head_names = sga_head_objectives(policy)
        except ConfigError as error:
            fail(origin, "policy.model", error.reason)
        if head_names != names:
            fail(origin, "policy.model", f"the SGA policy at {policy} scores {len(head_names)} objectives "
                                         f"{head_names}, but reward_models name {len(names)} {names} "
                                         "(K mismatch or a different order)")


def _validate_evaluate_sga(config: ProRLConfig, origin: str) -> None:
    """``evaluate.method: sga``: the strategies' names, the baseline policy, and a policy with a score head for
    the config's objectives (``pro_rl.training.sga_evaluation.check_sga_evaluation``)."""
    if config.pipeline != "evaluate" or config.evaluate.method != "sga":
        return
    from pro_rl.config.model_specs import check_model_spec
    from pro_rl.training.sga_evaluation import check_sga_evaluation

    check_model_spec(origin, "evaluate.baseline_policy", config.evaluate.baseline_policy, True)
    policy = config.evaluate.policy or config.policy.model
    if looks_local(policy) and not Path(policy).is_dir():
        return  # the model-spec checks name the missing directory
    try:
        check_sga_evaluation(config)
    except ConfigError as error:
        fail(origin, error.key or "evaluate.method", error.reason)


# ---------------------------------------------------------------- MOSLIM RL (reward source 'moslim', pipeline 'moslim')


def _validate_moslim_rl(config: ProRLConfig, origin: str) -> None:
    """``weights.mode: reward_source`` needs a source that gives weights; the ``moslim`` pipeline runs the
    ``moslim`` source, whose tags give the weights and whose eq. 11 statistics replace the loop's normaliser."""
    from pro_rl.rl import REWARD_SOURCES

    source = config.algorithm.reward_source
    if config.pipeline == "moslim" and source != "moslim":
        fail(origin, "algorithm.reward_source", f"the moslim pipeline scores with the 'moslim' source, got '{source}'")
    if config.weights.mode == "reward_source" and not REWARD_SOURCES.get(source).provides_weights:
        fail(origin, "weights.mode", f"'reward_source' but algorithm.reward_source '{source}' gives no per-prompt weights")
    if source != "moslim":
        return
    moslim = config.moslim
    if config.weights.mode != "reward_source":
        fail(origin, "weights.mode", f"'{config.weights.mode}', but MOSLIM's weights come from each prompt's tags: "
                                     "set weights.mode=reward_source")
    if config.algorithm.normalise_rewards:
        fail(origin, "algorithm.normalise_rewards", "must be false with MOSLIM: eq. 11 already z-scores each head "
                                                    "and intensity with its own running statistics")
    if config.data.eval_prompts:
        fail(origin, "data.eval_prompts", "the moslim RL loop has no held-out evaluation (its prompts need tags): set ''")
    _one_of(origin, "moslim.on_bad_tag", moslim.on_bad_tag, ("error", "skip"))
    if not moslim.reward_model:
        fail(origin, "moslim.reward_model", "empty: name a trained multi-head classifier (pipeline moslim_reward_model)")
    if looks_local(moslim.reward_model) and not Path(moslim.reward_model).is_dir():
        fail(origin, "moslim.reward_model", f"no such model directory: {moslim.reward_model}")
    from pro_rl.rl.moslim import classifier_heads

    try:
        heads = classifier_heads(moslim.reward_model)
    except ValueError as error:
        fail(origin, "moslim.reward_model", str(error))
    if moslim.levels and dict(moslim.levels) != heads:
        fail(origin, "moslim.levels", f"{dict(moslim.levels)} differ from the heads {heads} of {moslim.reward_model}")
    if not moslim.min_tags <= min(moslim.max_tags, len(heads)):
        fail(origin, "moslim.min_tags", f"{moslim.min_tags} must lie in 1..min(moslim.max_tags={moslim.max_tags}, "
                                        f"{len(heads)} objectives)")


# ---------------------------------------------------------------- MOSLIM reward model (pipeline 'moslim_reward_model')

MOSLIM_OBJECTIVE_NAME = re.compile(r"[A-Za-z_][\w-]*")  # what a MOSLIM tag <objective n> can carry


def _validate_moslim_reward_model(config: ProRLConfig, origin: str) -> None:
    """``moslim.levels`` (tag-writable names, ≥ 2 classes each), ``moslim.score_scales``, and what the
    moslim_reward_model pipeline needs: a classifier backbone, label data (or the toy world's objectives), and
    held-out rows for its accuracy report."""
    moslim = config.moslim
    for objective, levels in moslim.levels.items():
        if not MOSLIM_OBJECTIVE_NAME.fullmatch(str(objective)):
            fail(origin, f"moslim.levels.{objective}", "an objective name must be a word (letters, digits, _ or -) to be a tag")
        if int(levels) < 2:
            fail(origin, f"moslim.levels.{objective}", f"{levels} intensity classes: a head needs at least 2")
    for objective, scale in moslim.score_scales.items():
        if len(scale) != 2 or not float(scale[1]) > float(scale[0]):
            fail(origin, f"moslim.score_scales.{objective}", f"must be [low, high] with high > low, got {list(scale)}")
    if config.pipeline != "moslim_reward_model":
        return
    from pro_rl.config.model_specs import check_model_spec
    from pro_rl.data.adapters import ADAPTERS
    from pro_rl.data.toy_world import OBJECTIVES as toy_objectives

    if not moslim.model:
        fail(origin, "moslim.model", "empty: name the classifier backbone (a hub id, a directory or 'tiny:<arch>')")
    check_model_spec(origin, "moslim.model", moslim.model, True)
    check_model_spec(origin, "moslim.tokenizer", moslim.tokenizer, True)
    if moslim.model.startswith("tiny:") and moslim.tiny_hidden_size % moslim.tiny_heads:
        fail(origin, "moslim.tiny_heads", f"{moslim.tiny_heads} heads do not divide tiny_hidden_size {moslim.tiny_hidden_size}")
    _one_of(origin, "moslim.data_adapter", moslim.data_adapter, ("auto",) + tuple(ADAPTERS))
    if not moslim.data:
        unknown = [objective for objective in moslim.levels if objective not in toy_objectives]
        if unknown:
            fail(origin, "moslim.levels", f"{unknown} are not toy-world objectives {list(toy_objectives)}, and "
                                          "moslim.data is empty (the toy world would label the rows)")
    elif not moslim.levels:
        fail(origin, "moslim.levels", "empty: name the objectives of moslim.data and their number of classes")
    elif looks_local(moslim.data) and not Path(moslim.data).exists():
        fail(origin, "moslim.data", f"file or directory not found: {moslim.data}")
    if moslim.training.eval_fraction <= 0:
        fail(origin, "moslim.training.eval_fraction", "0 leaves no held-out rows for the per-head accuracy report")


# ---------------------------------------------------------------- MOSLIM evaluation (evaluate.method 'moslim',
# pipeline 'moslim_controllability')


def _validate_moslim_evaluation(config: ProRLConfig, origin: str) -> None:
    """The policy's intensity heads (and, for the controllability, the held-out prompts, the policy and the toy
    world's ground truth) — the checks of ``pro_rl.training``'s MOSLIM evaluation, raised here with the file named."""
    controllability = config.pipeline == "moslim_controllability"
    if not controllability and not (config.pipeline == "evaluate" and config.evaluate.method == "moslim"):
        return
    from pro_rl.training.moslim_tags import moslim_policy_levels
    from pro_rl.training.moslim_controllability import check_controllability_config

    try:
        if controllability:
            check_controllability_config(config)
        else:
            moslim_policy_levels(config)
    except ConfigError as error:
        if error.key is None:
            raise
        fail(origin, error.key, error.reason)
