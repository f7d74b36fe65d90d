"""Registries of the RL loop's extension points: RL algorithms and reward sources, each looked up by config name.

An RL algorithm (``algorithm.name``) and a reward source (``algorithm.reward_source``) are each one class in one
file, made known with a decorator:

    @register_algorithm("my_method")
    class MyMethod(RLAlgorithm): ...

The driver builds the object from the registry once (``build_algorithm``) and hands the object itself to the
actors, pickled with the rest of their arguments, so a method registered in a user's script works inside actors
without the actors importing that script.
"""

from __future__ import annotations

from typing import Callable, Dict, Generic, List, TypeVar

Registered = TypeVar("Registered")


class Registry(Generic[Registered]):
    """Classes by name, for one kind of extension point (``kind`` names it in error messages)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._classes: Dict[str, type] = {}

    def register(self, name: str) -> Callable[[type], type]:
        """Decorator: register the class under ``name``; the class gets ``name`` as its ``name`` attribute."""
        def decorate(cls: type) -> type:
            known = self._classes.get(name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise ValueError(f"{self.kind} '{name}' is already registered ({known.__module__}.{known.__qualname__})")
            cls.name = name
            self._classes[name] = cls
            return cls
        return decorate

    def get(self, name: str) -> type:
        if name not in self._classes:
            raise KeyError(f"unknown {self.kind} '{name}'; registered: {', '.join(self.names())}")
        return self._classes[name]

    def names(self) -> List[str]:
        return sorted(self._classes)

    def unregister(self, name: str) -> None:
        """Forget ``name`` (tests that register a throw-away class)."""
        self._classes.pop(name, None)


ALGORITHMS: Registry = Registry("RL algorithm")
REWARD_SOURCES: Registry = Registry("reward source")


def register_algorithm(name: str) -> Callable[[type], type]:
    """Register an ``RLAlgorithm`` subclass under ``algorithm.name`` ``name``."""
    return ALGORITHMS.register(name)


def register_reward_source(name: str) -> Callable[[type], type]:
    """Register a ``RewardSource`` subclass under ``algorithm.reward_source`` ``name``."""
    return REWARD_SOURCES.register(name)


def build_algorithm(name: str):
    """The algorithm object registered as ``name`` (algorithms are stateless: settings come with each call)."""
    return ALGORITHMS.get(name)()


def build_reward_source(name: str, config):
    """The reward source registered as ``name``, built for ``config``."""
    return REWARD_SOURCES.get(name)(config)
