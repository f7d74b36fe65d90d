"""Merging a config file onto its ``base:`` when both give a list of named entries (``reward_models``).

OmegaConf replaces lists on merge, so a file that changes one reward model would have to restate all of them. Here
a list whose entries are all mappings with a ``name`` key, given by both the base and the file, is merged by name:

- an entry whose name the base has is merged onto the base's entry (the file's values win, key by key);
- an entry with a new name is appended, in the file's order; the base's order is kept;
- a list whose entries are not all named (plain values, mappings without ``name``, or an empty list) replaces the
  base's list as before: ``reward_models: []`` drops the base's entries;
- a file replaces named lists whole by naming their dotted keys in ``replace_lists`` (a file-level key, like
  ``base``): ``replace_lists: [reward_models]``.

Interpolations (``${toy_world:...}``, ``${oc.env:...}``) are kept as written.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

from omegaconf import DictConfig, ListConfig, OmegaConf


def _names(entries: Any) -> Optional[List[str]]:
    """The ``name`` of every entry, or None unless the list is non-empty and every entry is a named mapping."""
    if not isinstance(entries, ListConfig) or len(entries) == 0:
        return None
    names = []
    for entry in OmegaConf.to_container(entries, resolve=False):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            return None
        names.append(entry["name"])
    return names


def merge_named_entries(base: ListConfig, update: ListConfig) -> ListConfig:
    """``update``'s entries merged onto ``base``'s by name (both lists of named mappings; see the module doc)."""
    base_names, update_names = _names(base), _names(update)
    by_name = dict(zip(update_names, update))
    merged = [OmegaConf.merge(entry, by_name[name]) if name in by_name else entry
              for name, entry in zip(base_names, base)]
    merged += [entry for name, entry in zip(update_names, update) if name not in base_names]
    return OmegaConf.create(merged)


def with_named_lists_merged(base: DictConfig, update: DictConfig, replace: Sequence[str] = (),
                            prefix: str = "") -> DictConfig:
    """A copy of ``update`` whose named lists (at any depth of mappings) already hold ``base``'s entries merged in,
    so that ``OmegaConf.merge(base, result)`` — which replaces lists — gives the merge by name. Lists at the dotted
    keys in ``replace`` are left as given (they replace the base's)."""
    result = update.copy()
    for key in update.keys():
        dotted = f"{prefix}{key}"
        if key not in base or dotted in replace:
            continue
        base_value, update_value = base._get_node(key), update._get_node(key)
        if isinstance(base_value, DictConfig) and isinstance(update_value, DictConfig):
            result[key] = with_named_lists_merged(base_value, update_value, replace, dotted + ".")
        elif _names(base_value) is not None and _names(update_value) is not None:
            result[key] = merge_named_entries(base_value, update_value)
    return result
