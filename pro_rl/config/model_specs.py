"""Model specs of a config: what each ``model`` / ``tokenizer`` / trained-model path may name, checked without loading.

A spec is a ``tiny:<arch>`` the builders know, a ``module:function`` (rewards only), an existing model directory, or
a hub id. A spec that looks like a local path and does not exist is "no such model directory", and so is a hub id
that is not in the local cache when ``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` is set — the hub is never asked
here. Checked keys: ``policy``, ``orchestrator`` and each ``reward_models.<i>`` (model and tokenizer),
``orchestrator.path``, and for the evaluate pipeline ``evaluate.policy`` and ``evaluate.soup_policies.<i>``.
``validate`` (``validation.py``) calls ``validate_models`` last; every failure is one ``ConfigError`` naming the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from pro_rl.config.errors import fail
from pro_rl.config.schema import TINY_CAUSAL_ARCHS, TINY_ENCODER_ARCHS, ProRLConfig

TINY_PREFIX = "tiny:"
OFFLINE_VARIABLES = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")


def is_function_spec(spec: str) -> bool:
    """``package.module:function`` (not a path, a hub id or a tiny spec)."""
    if spec.startswith(TINY_PREFIX) or ":" not in spec or Path(spec).exists():
        return False
    module, _, function = spec.partition(":")
    return bool(module) and function.isidentifier() and all(part.isidentifier() for part in module.split("."))


def looks_local(value: str) -> bool:
    """A path rather than a hub id ('owner/name'): a file suffix, a leading . / ~, two or more slashes, or it exists."""
    return (value.startswith((".", "/", "~")) or value.count("/") >= 2
            or Path(value).suffix in (".jsonl", ".json", ".parquet") or Path(value).exists())


def hub_offline() -> str:
    """The offline variable that is set (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE), or ''."""
    for name in OFFLINE_VARIABLES:
        if os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on"):
            return name
    return ""


def _in_hub_cache(repo_id: str) -> bool:
    """Whether a hub id is in the local Hugging Face cache (no network)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    for filename in ("config.json", "tokenizer_config.json"):
        try:
            if isinstance(try_to_load_from_cache(repo_id, filename), str):
                return True
        except Exception:  # an id the hub would refuse (bad characters, too many slashes)
            return False
    return False


def check_model_spec(origin: str, key: str, spec: str, used: bool, functions_allowed: bool = False) -> None:
    """One model (or tokenizer) spec; ``used``: the pipeline loads it, so an offline hub id must be cached."""
    if not spec:
        return
    if spec.startswith(TINY_PREFIX):
        arch = spec[len(TINY_PREFIX):]
        if arch not in TINY_CAUSAL_ARCHS + TINY_ENCODER_ARCHS:
            fail(origin, key, f"'{spec}': no tiny builder '{arch}' (known: "
                              f"{', '.join(TINY_PREFIX + a for a in TINY_CAUSAL_ARCHS + TINY_ENCODER_ARCHS)})")
        return
    if functions_allowed and is_function_spec(spec):
        return
    path = Path(spec).expanduser()
    if path.is_dir():
        return
    if path.exists():
        fail(origin, key, f"{spec} is a file, not a model directory")
    if looks_local(spec):
        fail(origin, key, f"no such model directory: {spec}")
    offline = hub_offline()
    if used and offline and not _in_hub_cache(spec):
        fail(origin, key, f"no such model directory: {spec} (and {offline} is set, so the hub is not asked; "
                          "it is not in the local Hugging Face cache)")


def _models_used(config: ProRLConfig) -> set:
    """Model keys the pipeline itself loads (compare_methods, demo and rewarded_soups load them in their stages)."""
    rewards = {f"reward_models.{index}" for index in range(len(config.reward_models))}
    policy = {"policy"}
    if config.pipeline == "evaluate" and config.evaluate.policy:
        policy = set()
    sga = policy | (rewards if config.sga.score_source == "reward_models" else set())
    return {
        "reward_models": rewards, "orchestrator": rewards | {"orchestrator"}, "sft": policy,
        "pro_morlhf": rewards | policy, "pro_wic": rewards | policy, "evaluate": rewards | policy,
        "sga_sft": sga, "sga_dpo": sga, "moslim": policy,
    }.get(config.pipeline, set())


def validate_models(config: ProRLConfig, origin: str) -> None:
    """Every model spec the config names (see the module doc); an unused hub id is not looked up offline."""
    used = _models_used(config)
    sections = [("policy", config.policy, False), ("orchestrator", config.orchestrator, False)]
    sections += [(f"reward_models.{i}", rm, True) for i, rm in enumerate(config.reward_models)]
    for prefix, spec, functions_allowed in sections:
        if prefix != "orchestrator" or config.pipeline == "orchestrator":
            check_model_spec(origin, f"{prefix}.model", spec.model, prefix in used, functions_allowed)
        check_model_spec(origin, f"{prefix}.tokenizer", spec.tokenizer, prefix in used)
        if spec.model.startswith(TINY_PREFIX) and spec.tiny_hidden_size % spec.tiny_heads:
            fail(origin, f"{prefix}.tiny_heads", f"{spec.tiny_heads} heads do not divide tiny_hidden_size "
                                                 f"{spec.tiny_hidden_size}")
    if config.weights.mode in ("orchestrator", "bag_of_words") or config.pipeline == "demo":
        check_model_spec(origin, "orchestrator.path", config.orchestrator.path, False)
    if config.pipeline == "evaluate":
        _validate_evaluated_policies(config, origin)


def _validate_evaluated_policies(config: ProRLConfig, origin: str) -> None:
    """The policies the evaluate pipeline loads instead of ``policy.model``: ``evaluate.policy`` (empty: it loads
    ``policy.model``) and each of ``evaluate.soup_policies`` (how many method 'soups' needs is checked by the
    pipeline)."""
    check_model_spec(origin, "evaluate.policy", config.evaluate.policy, True)
    for index, soup_policy in enumerate(config.evaluate.soup_policies):
        check_model_spec(origin, f"evaluate.soup_policies.{index}", soup_policy, True)
