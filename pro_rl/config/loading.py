"""Load, override, validate and save configs.

A config is a YAML file merged onto the structured defaults of ``schema.ProRLConfig``, then dotted
overrides (``algorithm.kl_coef=0.05``). A YAML file may name ``base: other.yaml`` (relative to itself) to start
from another file. Every failure — unknown key, wrong type, missing file, invalid value — raises one
``ConfigError`` naming the key and the file, before any work starts.
"""

from __future__ import annotations

import math
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pro_rl.config.schema import COMPARE_METHODS, PIPELINES, ProRLConfig, RewardModelConfig


def _toy_world_file(name: str) -> str:
    """``${toy_world:general_pairs}`` → the shipped toy-world file ``general_pairs.jsonl``."""
    from pro_rl.data.toy_world import shipped_dir

    path = shipped_dir() / f"{name}.jsonl"
    if not path.is_file():
        raise ConfigError(f"${{toy_world:{name}}}: the toy world has no file {path.name}")
    return str(path)


if not OmegaConf.has_resolver("toy_world"):
    # omegaconf 2.4 renamed register_new_resolver to register_resolver
    _register = getattr(OmegaConf, "register_resolver", None) or OmegaConf.register_new_resolver
    _register("toy_world", _toy_world_file)


class ConfigError(ValueError):
    """A config that cannot be run; the message names the key and the file."""


ConfigSource = Union[str, Path, ProRLConfig, dict, DictConfig]


def _read_yaml(path: Path, seen: tuple = ()) -> DictConfig:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' files include each other in a loop")
    try:
        node = OmegaConf.load(path)
    except Exception as error:  # yaml syntax errors come in many classes
        raise ConfigError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    base = node.pop("base", None)
    check_node(node, str(path))
    if base is None:
        return node
    merged = OmegaConf.create()
    for base_name in [base] if isinstance(base, str) else list(base):
        base_path = (path.parent / str(base_name)).resolve()
        merged = OmegaConf.merge(merged, _read_yaml(base_path, seen + (path.resolve(),)))
    return OmegaConf.merge(merged, node)


def check_node(node: DictConfig, origin: str) -> None:
    """Check one file's keys and types on their own, so an error names the file and the full key.

    Sections must be mappings, and each ``reward_models`` entry is checked against ``RewardModelConfig`` with its
    index in the key (OmegaConf's list merge reports such keys without their ``reward_models.<i>.`` prefix).
    """
    sections = {f.name for f in fields(ProRLConfig) if f.name not in ("pipeline", "reward_models", "extra")}
    for key in node.keys():
        value = node._get_node(key)
        if key in sections and not isinstance(value, DictConfig):
            raise ConfigError(f"{origin}: key '{key}': expected a mapping of the section's keys, got {value!r}")
    entries = node.get("reward_models") if "reward_models" in node else None
    if entries is not None and not isinstance(entries, ListConfig):
        raise ConfigError(f"{origin}: key 'reward_models': expected a list with one entry per objective")
    for index, entry in enumerate(entries or []):
        try:
            OmegaConf.merge(OmegaConf.structured(RewardModelConfig), entry)
        except OmegaConfBaseException as error:
            key = getattr(error, "full_key", None) or "?"
            raise ConfigError(f"{origin}: key 'reward_models.{index}.{key}': {str(error).splitlines()[0]}") from None
    _merge(OmegaConf.structured(ProRLConfig), node, origin)


def _merge(structured: DictConfig, update: Any, origin: str) -> DictConfig:
    try:
        return OmegaConf.merge(structured, update)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise ConfigError(f"{origin}: key '{key}': {str(error).splitlines()[0]}") from None


def _apply_override(structured: DictConfig, override: str, origin: str) -> DictConfig:
    key, _, text = override.partition("=")
    value = OmegaConf.from_dotlist([f"value={text}"])["value"] if text else ""
    try:
        OmegaConf.update(structured, key.strip(), value, merge=True)
    except OmegaConfBaseException as error:
        raise ConfigError(f"{origin}: key '{key}': {str(error).splitlines()[0]}") from None
    except (TypeError, ValueError, IndexError) as error:
        raise ConfigError(f"{origin}: key '{key}': {error}") from None
    return structured


def load_config(source: ConfigSource, overrides: Sequence[str] = ()) -> ProRLConfig:
    """A validated ``ProRLConfig`` from a YAML path, a dict, a DictConfig or a config object, plus overrides."""
    structured = OmegaConf.structured(ProRLConfig)
    if isinstance(source, (str, Path)):
        origin = str(source)
        structured = _merge(structured, _read_yaml(Path(source)), origin)
    else:
        origin = "<config object>"
        node = OmegaConf.structured(source) if is_dataclass(source) else source
        structured = _merge(structured, node, origin)
    for override in overrides:
        if "=" not in override:
            raise ConfigError(f"{origin}: override '{override}': expected key=value (e.g. algorithm.kl_coef=0.05)")
        structured = _apply_override(structured, override, f"{origin} (override '{override}')")
    try:
        config = OmegaConf.to_object(structured)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None) or "?"
        raise ConfigError(f"{origin}: key '{key}': {str(error).splitlines()[0]}") from None
    validate(config, origin)
    return config


def _fail(origin: str, key: str, reason: str) -> None:
    raise ConfigError(f"{origin}: key '{key}': {reason}")


def _one_of(origin: str, key: str, value: str, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        _fail(origin, key, f"'{value}' is not one of {', '.join(allowed)}")


def _validate_compare(config: ProRLConfig, origin: str) -> None:
    compare = config.compare
    for index, method in enumerate(compare.methods):
        _one_of(origin, f"compare.methods.{index}", method, COMPARE_METHODS)
    if len(set(compare.methods)) != len(compare.methods) or not compare.methods:
        _fail(origin, "compare.methods", f"name each method once, got {list(compare.methods)}")
    if compare.rl_steps < max(len(config.objectives), 1):
        _fail(origin, "compare.rl_steps", f"{compare.rl_steps} cannot give each of the {len(config.objectives)} "
                                          "Rewarded Soups experts a step")
    for key in ("sft_config", "orchestrator_config", "rl_config", "wic_config"):
        path = getattr(compare, key)
        if not Path(path).is_file():
            _fail(origin, f"compare.{key}", f"file not found: {path} (paths are relative to the working directory)")


def _validate_rollout(config: ProRLConfig, origin: str) -> None:
    """vLLM engine settings; ``rollout.backend: vllm`` runs on GPUs only."""
    rollout, gpus = config.rollout, config.resources.rollout.num_gpus
    if rollout.tensor_parallel_size < 1:
        _fail(origin, "rollout.tensor_parallel_size", f"must be >= 1, got {rollout.tensor_parallel_size}")
    if not 0 < rollout.gpu_memory_utilization <= 1:
        _fail(origin, "rollout.gpu_memory_utilization", f"must be in (0, 1], got {rollout.gpu_memory_utilization}")
    if rollout.backend != "vllm":
        return
    if config.run.device != "cuda":
        _fail(origin, "rollout.backend", f"'vllm' runs on GPUs only and needs run.device=cuda (got "
                                         f"'{config.run.device}'); use rollout.backend=hf on CPU")
    if gpus <= 0:
        _fail(origin, "resources.rollout.num_gpus", "is 0 but rollout.backend is 'vllm': give the role a GPU share")
    if rollout.tensor_parallel_size > max(gpus, 1):
        _fail(origin, "rollout.tensor_parallel_size", f"{rollout.tensor_parallel_size} GPUs per engine, but "
                                                      f"resources.rollout.num_gpus gives each engine {gpus}")


def validate(config: ProRLConfig, origin: str = "<config>") -> None:
    """Check values the types cannot: choices, ranges, simplex weights, objective counts."""
    _one_of(origin, "pipeline", config.pipeline, PIPELINES)
    _one_of(origin, "run.resume", config.run.resume, ("never", "auto"))
    _one_of(origin, "run.device", config.run.device, ("auto", "cpu", "cuda"))
    _one_of(origin, "data.on_bad_row", config.data.on_bad_row, ("error", "skip"))
    _one_of(origin, "weights.mode", config.weights.mode, ("orchestrator", "fixed", "uniform"))
    _one_of(origin, "algorithm.name", config.algorithm.name, ("ppo", "rloo", "online_dpo"))
    _one_of(origin, "algorithm.kl_estimator", config.algorithm.kl_estimator, ("k1", "k2", "k3"))
    _one_of(origin, "algorithm.dpo_loss", config.algorithm.dpo_loss, ("sigmoid", "ipo"))
    _one_of(origin, "algorithm.on_bad_reward", config.algorithm.on_bad_reward, ("error", "skip"))
    _one_of(origin, "orchestrator.kl_direction", config.orchestrator.kl_direction, ("forward", "reverse"))
    _one_of(origin, "rollout.backend", config.rollout.backend, ("hf", "vllm"))
    _validate_rollout(config, origin)
    if config.run.device == "cuda" and config.pipeline in ("pro_morlhf", "rewarded_soups"):
        roles = ["policy", "reference", "rollout"] + (["critic"] if config.algorithm.name == "ppo" else [])
        for role in roles:
            if getattr(config.resources, role).num_gpus <= 0:
                _fail(origin, f"resources.{role}.num_gpus", "is 0 but run.device is cuda: give the role a GPU share")
    roles = ("policy", "reference", "reward", "orchestrator", "rollout", "critic")
    for role in roles:
        anchor = getattr(config.resources, role).colocate_with
        if anchor and anchor not in roles:
            _fail(origin, f"resources.{role}.colocate_with", f"'{anchor}' is not a role (one of {', '.join(roles)})")
    if config.policy.lora_rank < 0:
        _fail(origin, "policy.lora_rank", f"must be >= 0 (0: no LoRA), got {config.policy.lora_rank}")
    if config.policy.lora_rank and config.trainer.zero_stage == 3:
        _fail(origin, "policy.lora_rank", "LoRA adapters are merged on save, which needs whole weights: use ZeRO-2")
    if config.trainer.zero_stage not in (0, 1, 2, 3):
        _fail(origin, "trainer.zero_stage", f"{config.trainer.zero_stage} is not a ZeRO stage (0-3)")
    if not config.orchestrator.tau > 0:
        _fail(origin, "orchestrator.tau", f"τ must be > 0, got {config.orchestrator.tau}")
    if config.rollout.temperature <= 0 or not 0 < config.rollout.top_p <= 1:
        _fail(origin, "rollout", "temperature must be > 0 and top_p in (0, 1]")
    if config.algorithm.name in ("rloo", "online_dpo") and config.rollout.num_samples < 2:
        _fail(origin, "rollout.num_samples", f"{config.algorithm.name} needs at least 2 samples per prompt")
    names = config.objectives
    if len(set(names)) != len(names):
        _fail(origin, "reward_models", f"objective names must be unique, got {names}")
    for index, reward_model in enumerate(config.reward_models):
        if not reward_model.model:
            _fail(origin, f"reward_models.{index}.model", "empty: name a model, a 'tiny:<arch>' or a 'module:function'")
    if config.weights.mode == "fixed":
        fixed = list(config.weights.fixed)
        if len(fixed) != len(names):
            _fail(origin, "weights.fixed", f"has {len(fixed)} entries but there are {len(names)} objectives {names} (K mismatch)")
        if any(w < 0 for w in fixed) or not math.isclose(sum(fixed), 1.0, abs_tol=1e-6):
            _fail(origin, "weights.fixed", f"{fixed} is not on the simplex (entries ≥ 0 summing to 1)")
    for section, training in [("orchestrator.training", config.orchestrator.training)] + [
        (f"reward_models.{i}.training", rm.training) for i, rm in enumerate(config.reward_models)
    ]:
        if training.learning_rate <= 0 or training.batch_size < 1:
            _fail(origin, section, "learning_rate must be > 0 and batch_size ≥ 1")
        if not 0 <= training.eval_fraction < 1:
            _fail(origin, f"{section}.eval_fraction", f"must be in [0, 1), got {training.eval_fraction}")
    if config.pipeline == "compare_methods":
        _validate_compare(config, origin)
    local_keys = ["data.general_pairs", "data.prompts", "data.eval_prompts", "data.sft", "policy.model"]
    if config.weights.mode == "orchestrator" or config.pipeline == "demo":
        local_keys.append("orchestrator.path")
    for key in local_keys:
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value and _looks_local(value) and not Path(value).exists():
            _fail(origin, key, f"file or directory not found: {value}")
    for index, reward_model in enumerate(config.reward_models):
        for name in ("data", "model"):
            value = getattr(reward_model, name)
            if value and ":" not in value and _looks_local(value) and not Path(value).exists():
                _fail(origin, f"reward_models.{index}.{name}", f"file or directory not found: {value}")


def _looks_local(value: str) -> bool:
    """A path rather than a hub id ('owner/name'): a file suffix, a leading . / ~, two or more slashes, or it exists."""
    return (value.startswith((".", "/", "~")) or value.count("/") >= 2
            or Path(value).suffix in (".jsonl", ".json", ".parquet") or Path(value).exists())


def to_yaml(config: ProRLConfig) -> str:
    return OmegaConf.to_yaml(OmegaConf.structured(config))


def save_config(config: ProRLConfig, path: Union[str, Path]) -> Path:
    """Write the fully resolved config (the run directory's ``config.yaml``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_yaml(config))
    return path


def field_help() -> str:
    """All keys with their one-line help, for ``pro-rl config``."""
    lines = []

    def walk(node: Any, prefix: str) -> None:
        for f in fields(node):
            key = f"{prefix}{f.name}"
            default = f.default_factory() if callable(f.default_factory) else f.default  # type: ignore[misc]
            if is_dataclass(default):
                lines.append(f"{key}: {f.metadata.get('help', '')}")
                walk(default, key + ".")
            else:
                lines.append(f"{key} = {default!r}: {f.metadata.get('help', '')}")

    walk(ProRLConfig, "")
    return "\n".join(lines)
