"""Load, override, validate and save configs.

A config is a YAML file merged onto the structured defaults of ``schema.ProRLConfig``, then dotted
overrides (``algorithm.kl_coef=0.05``). A YAML file may name ``base: other.yaml`` (relative to itself) to start
from another file; lists of named entries (``reward_models``) merge with the base's by ``name``, unless the file
names them in ``replace_lists`` (``named_lists.py``). Every failure — unknown key, wrong type, missing file, invalid
value — raises one ``ConfigError`` naming the key and the file, before any work starts (the checks of values are
``validate``, in ``validation.py``).

Secrets: a value written as ``${oc.env:VAR}`` is resolved for the run, but ``to_yaml`` / ``save_config`` (the
run directory's ``config.yaml``, ``pro-rl config``) write the interpolation as it was given, never the resolved
text. ``load_config`` remembers each resolved string and how it was written (for this process), so configs
derived later with ``dataclasses.replace`` are written the same way. Only string values are treated so.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Union

import yaml
from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from pro_rl.config.errors import ConfigError
from pro_rl.config.named_lists import with_named_lists_merged
from pro_rl.config.schema import ProRLConfig, RewardModelConfig
from pro_rl.config.validation import validate

ENV_INTERPOLATIONS = ("${oc.env:", "${env:")
_WRITTEN_SECRETS: Dict[str, str] = {}  # resolved string -> the interpolation it was written as


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


ConfigSource = Union[str, Path, ProRLConfig, dict, DictConfig]


def _yaml_text(path: Path) -> str:
    """The text of a config file; a missing file, a directory or non-UTF-8 bytes are a ``ConfigError``."""
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory, not a YAML config file")
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[:error.start].count(b"\n") + 1
        raise ConfigError(f"not UTF-8 text: byte 0x{error.object[error.start]:02x} ({path}:{line})") from None
    except OSError as error:
        raise ConfigError(f"config file cannot be read: {error.strerror} ({path})") from None


def _read_yaml(path: Path, seen: tuple = ()) -> DictConfig:
    text = _yaml_text(path)
    if path.resolve() in seen:
        raise ConfigError(f"{path}: 'base' files include each other in a loop")
    try:
        node = OmegaConf.create(text) if text.strip() else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"not valid YAML: {error.problem or error.context} ({where})") from None
    except Exception as error:  # yaml and omegaconf raise many classes
        raise ConfigError(f"not valid YAML: {' '.join(str(error).split())} ({path})") from None
    if node is None or (isinstance(node, DictConfig) and len(node) == 0):
        raise ConfigError(f"{path}: the file is empty (or only comments); name at least the pipeline and its inputs")
    if not isinstance(node, DictConfig):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    base = node.pop("base", None)
    replace = _replace_lists(node.pop("replace_lists", None), path)
    check_node(node, str(path))
    if base is None:
        return node
    merged = OmegaConf.create()
    for base_name in [base] if isinstance(base, str) else list(base):
        base_path = (path.parent / str(base_name)).resolve()
        base_node = _read_yaml(base_path, seen + (path.resolve(),))
        merged = OmegaConf.merge(merged, with_named_lists_merged(merged, base_node))
    return OmegaConf.merge(merged, with_named_lists_merged(merged, node, replace))


def _replace_lists(value: Any, path: Path) -> List[str]:
    """The file-level ``replace_lists``: dotted keys of lists this file gives whole (see ``named_lists``)."""
    if value is None:
        return []
    if not isinstance(value, ListConfig) or not all(isinstance(key, str) for key in value):
        raise ConfigError(f"{path}: key 'replace_lists': expected a list of dotted keys, e.g. [reward_models]")
    return list(value)


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
    if not key.strip() or text.startswith("="):
        raise ConfigError(f"{origin}: key '{key.strip()}': '{override}' is not key=value (a value starting with '=' "
                          f"must be quoted: {key.strip()}='{text}')")
    # resolve=False keeps ${oc.env:...} as written, so that it is resolved (and recorded as a secret) like YAML's
    value = OmegaConf.to_container(OmegaConf.from_dotlist([f"value={text}"]), resolve=False)["value"] if text else ""
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
    for key, written in env_interpolations(structured).items():
        resolved = OmegaConf.select(structured, key)
        if isinstance(resolved, str) and resolved:
            _WRITTEN_SECRETS[resolved] = written
    return config


def env_interpolations(node: DictConfig) -> Dict[str, str]:
    """Dotted key → value as written, for every value holding an ``${oc.env:...}`` interpolation (a secret)."""
    found: Dict[str, str] = {}

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for name, child in value.items():
                walk(child, f"{key}.{name}" if key else str(name))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                walk(child, f"{key}.{index}")
        elif isinstance(value, str) and any(marker in value for marker in ENV_INTERPOLATIONS):
            found[key] = value

    walk(OmegaConf.to_container(node, resolve=False), "")
    return found


def to_yaml(config: ProRLConfig) -> str:
    """The config as YAML, resolved except for ``${oc.env:...}`` values, which stay as written (secrets)."""
    def unresolve(value: Any) -> Any:
        if isinstance(value, dict):
            return {name: unresolve(child) for name, child in value.items()}
        if isinstance(value, list):
            return [unresolve(child) for child in value]
        return _WRITTEN_SECRETS.get(value, value) if isinstance(value, str) else value

    container = unresolve(OmegaConf.to_container(OmegaConf.structured(config)))
    return OmegaConf.to_yaml(OmegaConf.create(container))


def save_config(config: ProRLConfig, path: Union[str, Path]) -> Path:
    """Write the config (the run directory's ``config.yaml``): resolved, except ``${oc.env:...}`` secrets."""
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
