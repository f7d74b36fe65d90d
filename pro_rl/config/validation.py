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
- the SGA and MOSLIM sections and pipelines (``method_validation.py``);
- model specs (``model_specs.py``): a ``tiny:<arch>`` the builders know, a ``module:function`` (rewards only), an
  existing model directory, or a hub id; a local-looking path that does not exist is "no such model directory".

Every failure is one ``ConfigError`` naming the key and the file.
"""

from __future__ import annotations

import importlib.util
import json
import math
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Iterator, List, Tuple

from pro_rl.config.errors import ConfigError, fail
from pro_rl.config.errors import one_of as _one_of
from pro_rl.config.fields import Range
from pro_rl.config.format_validation import validate_formats
from pro_rl.config.model_specs import is_function_spec  # noqa: F401  (re-exported: models/builders.py imports it)
from pro_rl.config.model_specs import looks_local, validate_models
from pro_rl.config.method_validation import (
    _validate_evaluate_sga,
    _validate_moslim_evaluation,
    _validate_moslim_reward_model,
    _validate_moslim_rl,
    _validate_sga,
)
from pro_rl.config.mora_schema import validate_mora
from pro_rl.config.resource_validation import validate_groups_and_placement
from pro_rl.config.schema import COMPARE_METHODS, PIPELINES, ProRLConfig

# Reward sources the score stage can call. The lead connects the registry here (one object per source).


TRACKER_PACKAGES = {"tensorboard": ("tensorboard", ""), "wandb": ("wandb", "wandb"), "mlflow": ("mlflow", "mlflow"),
                    "none": ("", "")}  # run.report_to name -> (module it imports, pro-rl extra that installs it)


WEIGHT_MODES = ("orchestrator", "fixed", "uniform", "reward_source", "bag_of_words", "oracle")
ORCHESTRATOR_MODES = ("orchestrator", "bag_of_words")  # weights served by the orchestrator actor from orchestrator.path
BAG_OF_WORDS_FILE = "bag_of_words.safetensors"  # the baseline's layer, beside the orchestrator it was fitted with


def _validate_trackers(config: ProRLConfig, origin: str) -> None:
    """``run.report_to`` names known trackers whose packages are installed (found, not imported: imports are slow)."""
    for name in config.run.report_to:
        _one_of(origin, "run.report_to", name, TRACKER_PACKAGES)
        module, extra = TRACKER_PACKAGES[name]
        if module and importlib.util.find_spec(module) is None:
            install = f"pip install 'pro-rl[{extra}]'" if extra else f"pip install {module}"
            fail(origin, "run.report_to", f"'{name}' is named but the {module} package is not installed: {install}")


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
    _validate_router_serving(config, origin)
    if config.weights.mode in ORCHESTRATOR_MODES and config.orchestrator.path and Path(config.orchestrator.path).exists():
        try:
            labels = orchestrator_objectives(config.orchestrator.path)
        except ConfigError as error:
            fail(origin, "orchestrator.path", error.reason)
        if names and labels != names:
            fail(origin, "orchestrator.path", f"the orchestrator at {config.orchestrator.path} was trained for "
                                              f"{len(labels)} objectives {labels}, but reward_models name {len(names)} "
                                              f"{names} (K mismatch or a different order)")


def _validate_router_serving(config: ProRLConfig, origin: str) -> None:
    """``weights.mode: oracle`` names its function; ``bag_of_words`` finds the baseline beside the orchestrator."""
    if config.weights.mode == "oracle" and not is_function_spec(config.weights.function):
        fail(origin, "weights.function", f"'{config.weights.function}': weights.mode 'oracle' needs a "
                                         "'module:function' that maps prompts to their true weights")
    path = Path(config.orchestrator.path) if config.orchestrator.path else None
    if config.weights.mode == "bag_of_words" and path and path.is_dir() and not (path / BAG_OF_WORDS_FILE).is_file():
        fail(origin, "orchestrator.path", f"no {BAG_OF_WORDS_FILE} in {path}: the orchestrator pipeline saves the "
                                          "bag-of-words baseline only when data.eval_prompts carries true weights")


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
                "moslim_reward_model_config", "moslim_config", "mora_config"):
        path = getattr(compare, key)
        if not Path(path).is_file():
            fail(origin, f"compare.{key}", f"file not found: {path} (paths are relative to the working directory)")


def _validate_rollout(config: ProRLConfig, origin: str) -> None:
    """vLLM engine settings; ``rollout.backend: vllm`` runs on GPUs only."""
    rollout, gpus = config.rollout, config.resources.rollout.num_gpus
    if rollout.backend != "vllm":
        return
    if rollout.in_driver:
        fail(origin, "rollout.in_driver", "is true, which generates with transformers in the driver, but "
                                          "rollout.backend is 'vllm'; set rollout.in_driver=false (the rollout engines)")
    if config.run.device != "cuda":
        fail(origin, "rollout.backend", f"'vllm' runs on GPUs only and needs run.device=cuda (got "
                                        f"'{config.run.device}'); use rollout.backend=hf on CPU")
    if gpus <= 0:
        fail(origin, "resources.rollout.num_gpus", "is 0 but rollout.backend is 'vllm': give the role a GPU share")
    if rollout.tensor_parallel_size > max(gpus, 1):
        fail(origin, "rollout.tensor_parallel_size", f"{rollout.tensor_parallel_size} GPUs per engine, but "
                                                     f"resources.rollout.num_gpus gives each engine {gpus}")
    if rollout.temperature > 2:
        fail(origin, "rollout.temperature", f"{rollout.temperature} is above 2, which vLLM refuses; use 0 to 2")
    if config.algorithm.off_policy_steps and (rollout.top_p < 1 or rollout.top_k):
        fail(origin, "algorithm.off_policy_steps", f"is {config.algorithm.off_policy_steps}, which takes the behaviour "
             f"log-probs from vLLM, and vLLM reports them after top-p/top-k (rollout.top_p={rollout.top_p}, "
             f"rollout.top_k={rollout.top_k}); set rollout.top_p=1 and rollout.top_k=0, or off_policy_steps=0")


def _validate_choices(config: ProRLConfig, origin: str) -> None:
    _one_of(origin, "pipeline", config.pipeline, PIPELINES)
    _one_of(origin, "run.resume", config.run.resume, ("never", "auto"))
    _one_of(origin, "run.device", config.run.device, ("auto", "cpu", "cuda"))
    _one_of(origin, "data.on_bad_row", config.data.on_bad_row, ("error", "skip"))
    _one_of(origin, "weights.mode", config.weights.mode, WEIGHT_MODES)
    _one_of(origin, "orchestrator.objective", config.orchestrator.objective, ("pro_kl", "bradley_terry"))
    _one_of(origin, "algorithm.kl_estimator", config.algorithm.kl_estimator, ("k1", "k2", "k3"))
    _one_of(origin, "algorithm.dpo_loss", config.algorithm.dpo_loss, ("sigmoid", "ipo"))
    _one_of(origin, "algorithm.on_bad_reward", config.algorithm.on_bad_reward, ("error", "skip"))
    _one_of(origin, "orchestrator.kl_direction", config.orchestrator.kl_direction, ("forward", "reverse"))
    if config.orchestrator.select_best and not config.orchestrator.eval_every:
        fail(origin, "orchestrator.select_best", "needs orchestrator.eval_every > 0 (the evaluations it selects among)")
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
    validate_groups_and_placement(config, origin, lambda: _algorithm(config).rows_per_update(config))


# ---------------------------------------------------------------- SGA


def validate(config: ProRLConfig, origin: str = "<config>") -> None:
    """Check values the types cannot: choices, ranges, inputs, K consistency, model specs (see the module doc)."""
    _validate_choices(config, origin)
    validate_formats(config, origin)
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
    validate_mora(config, origin)
    validate_models(config, origin)
