"""Validation of a loaded config: everything the types cannot check, before any actor starts.

``validate`` is the one place these checks live (``load_config`` calls it):

- choices (``algorithm.name`` is one of ppo, rloo, online_dpo, ...); ``run.report_to`` names trackers whose
  packages are installed (``find_spec``, no import), else the error names the extra to install;
- the ``Range`` of every numeric key, read from the schema (``metadata["range"]``), so the help text and the check
  never disagree; NaN and ±inf are outside every range;
- the inputs a pipeline needs where a default config cannot run it (the orchestrator needs ≥ 2 objectives and
  general pairs); the data files named must exist when they look local;
- K consistency: the objectives of ``reward_models`` against ``weights.fixed``, the evaluation grid and reference
  point, and the K labels a trained orchestrator saved in its ``config.json`` (``id2label``);
- model specs (``model_specs.py``): a ``tiny:<arch>`` the builders know, a ``module:function`` (rewards only), an
  existing model directory, or a hub id; a local-looking path that does not exist is "no such model directory".

Every failure is one ``ConfigError`` naming the key and the file.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Tuple

from pro_rl.config.errors import ConfigError, fail
from pro_rl.config.fields import Range
from pro_rl.config.model_specs import is_function_spec  # noqa: F401  (re-exported: models/builders.py imports it)
from pro_rl.config.model_specs import looks_local, validate_models
from pro_rl.config.schema import COMPARE_METHODS, PIPELINES, ProRLConfig

# Reward sources the score stage can call. The lead connects the registry here (one object per source).


TRACKER_PACKAGES = {"tensorboard": ("tensorboard", ""), "wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow"),
                    "none": ("", "")}  # run.report_to name -> (module it imports, pro-rl extra that installs it)


def _validate_trackers(config: ProRLConfig, origin: str) -> None:
    """``run.report_to`` names known trackers whose packages are installed (found, not imported: imports are slow)."""
    for name in config.run.report_to:
        _one_of(origin, "run.report_to", name, TRACKER_PACKAGES)
        module, extra = TRACKER_PACKAGES[name]
        if module and importlib.util.find_spec(module) is None:
            install = f"pip install 'pro-rl[{extra}]'" if extra else f"pip install {module}"
            fail(origin, "run.report_to", f"'{name}' is named but the {module} package is not installed: {install}")


def _one_of(origin: str, key: str, value: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        fail(origin, key, f"'{value}' is not one of {', '.join(allowed)}")


# ---------------------------------------------------------------- ranges


def numeric_fields(node: Any, prefix: str = "") -> Iterator[Tuple[str, Any, Range]]:
    """(dotted key, value, range) of every numeric field with a declared range, reward-model entries included."""
    for f in fields(node):
        value = getattr(node, f.name)
        if is_dataclass(value):
            yield from numeric_fields(value, f"{prefix}{f.name}.")
        elif isinstance(value, list) and value and all(is_dataclass(entry) for entry in value):
            for index, entry in enumerate(value):
                yield from numeric_fields(entry, f"{prefix}{f.name}.{index}.")
        elif "range" in f.metadata:
            yield f"{prefix}{f.name}", value, f.metadata["range"]


def _validate_ranges(config: ProRLConfig, origin: str) -> None:
    for key, value, allowed in numeric_fields(config):
        if value not in allowed:
            fail(origin, key, f"must be {allowed}, got {value}")


# ---------------------------------------------------------------- weights and K


def _check_simplex(origin: str, key: str, vector: List[float], names: List[str]) -> None:
    if len(vector) != len(names):
        fail(origin, key, f"has {len(vector)} entries but there are {len(names)} objectives {names} (K mismatch)")
    if not all(math.isfinite(w) and w >= 0 for w in vector) or not math.isclose(sum(vector), 1.0, abs_tol=1e-6):
        fail(origin, key, f"{list(vector)} is not on the simplex (entries ≥ 0 summing to 1)")


def _validate_weights(config: ProRLConfig, origin: str) -> None:
    names = config.objectives
    if config.weights.mode == "fixed":
        _check_simplex(origin, "weights.fixed", list(config.weights.fixed), names)
    for index, point in enumerate(config.evaluate.grid):
        _check_simplex(origin, f"evaluate.grid.{index}", list(point), names)
    reference = list(config.evaluate.reference_point)
    if reference and (len(reference) != len(names) or not all(math.isfinite(v) for v in reference)):
        fail(origin, "evaluate.reference_point", f"{reference}: needs {len(names)} finite values, one per objective "
                                                 f"{names}")
    if config.weights.mode == "orchestrator" and config.orchestrator.path and Path(config.orchestrator.path).exists():
        try:
            labels = orchestrator_objectives(config.orchestrator.path)
        except ConfigError as error:
            fail(origin, "orchestrator.path", error.reason)
        if names and labels != names:
            fail(origin, "orchestrator.path", f"the orchestrator at {config.orchestrator.path} was trained for "
                                              f"{len(labels)} objectives {labels}, but reward_models name {len(names)} "
                                              f"{names} (K mismatch or a different order)")


def orchestrator_objectives(directory: str) -> List[str]:
    """The K objective names a trained orchestrator saved (``config.json`` ``id2label``), without loading it.

    A directory that is not a K-label sequence classifier named by objectives — a policy, a reward model, a
    classifier with the default ``LABEL_0`` names — is a ``ConfigError``: its "weights" would mean nothing.
    """
    config_file = Path(directory) / "config.json"
    if not config_file.is_file():
        raise ConfigError(f"no trained orchestrator at {directory} (expected config.json from save_pretrained)")
    try:
        saved = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"{config_file}: cannot be read as JSON: {error}") from None
    architectures = saved.get("architectures") or []
    id2label = saved.get("id2label") or {}
    labels = [id2label.get(str(index), id2label.get(index)) for index in range(len(id2label))]
    if not any(str(name).endswith("ForSequenceClassification") for name in architectures):
        raise ConfigError(f"{directory} is not a trained orchestrator: it holds a {', '.join(architectures) or '?'} "
                          "(a policy or another model?), not a sequence classifier with one label per objective")
    if len(labels) < 2 or any(label is None or str(label) == f"LABEL_{i}" for i, label in enumerate(labels)):
        raise ConfigError(f"{directory} is not a trained orchestrator: its labels {labels} are not objective names "
                          "(a reward model or an untrained classifier?)")
    return [str(label) for label in labels]


# ---------------------------------------------------------------- sections


def _validate_compare(config: ProRLConfig, origin: str) -> None:
    compare = config.compare
    for index, method in enumerate(compare.methods):
        _one_of(origin, f"compare.methods.{index}", method, COMPARE_METHODS)
    if len(set(compare.methods)) != len(compare.methods) or not compare.methods:
        fail(origin, "compare.methods", f"name each method once, got {list(compare.methods)}")
    if compare.rl_steps < max(len(config.objectives), 1):
        fail(origin, "compare.rl_steps", f"{compare.rl_steps} cannot give each of the {len(config.objectives)} "
                                         "Rewarded Soups experts a step")
    for key in ("sft_config", "orchestrator_config", "rl_config", "wic_config", "sga_config", "sga_dpo_config",
                "moslim_reward_model_config", "moslim_config"):
        path = getattr(compare, key)
        if not Path(path).is_file():
            fail(origin, f"compare.{key}", f"file not found: {path} (paths are relative to the working directory)")


def _validate_rollout(config: ProRLConfig, origin: str) -> None:
    """vLLM engine settings; ``rollout.backend: vllm`` runs on GPUs only."""
    rollout, gpus = config.rollout, config.resources.rollout.num_gpus
    if rollout.backend != "vllm":
        return
    if config.run.device != "cuda":
        fail(origin, "rollout.backend", f"'vllm' runs on GPUs only and needs run.device=cuda (got "
                                        f"'{config.run.device}'); use rollout.backend=hf on CPU")
    if gpus <= 0:
        fail(origin, "resources.rollout.num_gpus", "is 0 but rollout.backend is 'vllm': give the role a GPU share")
    if rollout.tensor_parallel_size > max(gpus, 1):
        fail(origin, "rollout.tensor_parallel_size", f"{rollout.tensor_parallel_size} GPUs per engine, but "
                                                     f"resources.rollout.num_gpus gives each engine {gpus}")


def _validate_choices(config: ProRLConfig, origin: str) -> None:
    _one_of(origin, "pipeline", config.pipeline, PIPELINES)
    _one_of(origin, "run.resume", config.run.resume, ("never", "auto"))
    _one_of(origin, "run.device", config.run.device, ("auto", "cpu", "cuda"))
    _one_of(origin, "data.on_bad_row", config.data.on_bad_row, ("error", "skip"))
    _one_of(origin, "weights.mode", config.weights.mode, ("orchestrator", "fixed", "uniform", "reward_source"))
    _one_of(origin, "algorithm.kl_estimator", config.algorithm.kl_estimator, ("k1", "k2", "k3"))
    _one_of(origin, "algorithm.dpo_loss", config.algorithm.dpo_loss, ("sigmoid", "ipo"))
    _one_of(origin, "algorithm.on_bad_reward", config.algorithm.on_bad_reward, ("error", "skip"))
    _one_of(origin, "orchestrator.kl_direction", config.orchestrator.kl_direction, ("forward", "reverse"))
    _one_of(origin, "rollout.backend", config.rollout.backend, ("hf", "vllm"))
    _validate_trackers(config, origin)
    for index, reward_model in enumerate(config.reward_models):
        if not reward_model.model:
            fail(origin, f"reward_models.{index}.model", "empty: name a model, a 'tiny:<arch>' or a 'module:function'")


def _validate_inputs(config: ProRLConfig, origin: str) -> None:
    """The inputs a pipeline cannot run without, and the data files named (they must exist when they look local)."""
    names, pipeline = config.objectives, config.pipeline
    if len(set(names)) != len(names):
        fail(origin, "reward_models", f"objective names must be unique, got {names}")
    if pipeline == "reward_models" and not names:
        fail(origin, "reward_models", "empty: the reward_models pipeline trains one model per objective")
    if pipeline == "orchestrator" and len(names) < 2:
        fail(origin, "reward_models", f"the orchestrator needs at least two objectives, got {names}")
    if pipeline == "orchestrator" and not config.data.general_pairs:
        fail(origin, "data.general_pairs", "empty, but the orchestrator pipeline trains on these pairs")
    for key in ["data.general_pairs", "data.prompts", "data.eval_prompts", "data.sft"]:
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value and looks_local(value) and not Path(value).exists():
            fail(origin, key, f"file or directory not found: {value}")
    for index, reward_model in enumerate(config.reward_models):
        value = reward_model.data
        if value and ":" not in value and looks_local(value) and not Path(value).exists():
            fail(origin, f"reward_models.{index}.data", f"file or directory not found: {value}")


def _algorithm(config: ProRLConfig):
    """The registered RL algorithm ``algorithm.name`` names (``pro_rl.rl``, imported here: it brings torch)."""
    from pro_rl.rl import build_algorithm

    return build_algorithm(config.algorithm.name)


def _validate_registered(config: ProRLConfig, origin: str) -> None:
    """``algorithm.name`` and ``algorithm.reward_source`` name registered classes, and the rollouts give the
    algorithm the samples per prompt it compares (RLOO and online DPO: at least 2)."""
    from pro_rl.rl import ALGORITHMS, REWARD_SOURCES

    _one_of(origin, "algorithm.name", config.algorithm.name, ALGORITHMS.names())
    _one_of(origin, "algorithm.reward_source", config.algorithm.reward_source, REWARD_SOURCES.names())
    needed = _algorithm(config).min_samples_per_prompt
    if config.rollout.num_samples < needed:
        fail(origin, "rollout.num_samples", f"{config.algorithm.name} needs at least {needed} samples per prompt")


def _validate_resources(config: ProRLConfig, origin: str) -> None:
    if config.run.device == "cuda" and config.pipeline in ("pro_morlhf", "rewarded_soups", "moslim"):
        roles = ["policy", "reference", "rollout"] + (["critic"] if _algorithm(config).needs_critic else [])
        for role in roles:
            if getattr(config.resources, role).num_gpus <= 0:
                fail(origin, f"resources.{role}.num_gpus", "is 0 but run.device is cuda: give the role a GPU share")
    roles = ("policy", "reference", "reward", "orchestrator", "rollout", "critic")
    for role in roles:
        anchor = getattr(config.resources, role).colocate_with
        if anchor and anchor not in roles:
            fail(origin, f"resources.{role}.colocate_with", f"'{anchor}' is not a role (one of {', '.join(roles)})")


# ---------------------------------------------------------------- SGA


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
    from pro_rl.config.schema import SGA_SCORE_SOURCES

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
    from pro_rl.training.evaluation import moslim_policy_levels
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


def validate(config: ProRLConfig, origin: str = "<config>") -> None:
    """Check values the types cannot: choices, ranges, inputs, K consistency, model specs (see the module doc)."""
    _validate_choices(config, origin)
    _validate_registered(config, origin)
    _validate_ranges(config, origin)
    _validate_rollout(config, origin)
    _validate_resources(config, origin)
    if config.policy.lora_rank and config.trainer.zero_stage == 3:
        fail(origin, "policy.lora_rank", "LoRA adapters are merged on save, which needs whole weights: use ZeRO-2")
    _validate_inputs(config, origin)
    _validate_weights(config, origin)
    if config.pipeline == "compare_methods":
        _validate_compare(config, origin)
    _validate_sga(config, origin)
    _validate_evaluate_sga(config, origin)
    _validate_moslim_rl(config, origin)
    _validate_moslim_reward_model(config, origin)
    _validate_moslim_evaluation(config, origin)
    validate_models(config, origin)
