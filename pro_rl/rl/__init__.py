"""The RL loop's extension points (Ray-free): registered RL algorithms and reward sources, and the typed payloads
they exchange with the loop (``batches``).

Importing this package registers the built-in algorithms (``rloo``, ``ppo``, ``online_dpo``) and the built-in reward
sources (``reward_models``, ``moslim``). A new algorithm is one file with a ``@register_algorithm("name")`` class (see
``algorithm.RLAlgorithm``); a new reward source one file with a ``@register_reward_source("name")`` class (see
``reward_source.RewardSource``). Import that file before the run starts.
"""

from pro_rl.rl import online_dpo, ppo, reward_models, rloo  # noqa: F401  (registers the built-ins)
from pro_rl.rl import moslim  # noqa: F401,E402  (registers the 'moslim' reward source, MOSLIM issue 12)
from pro_rl.rl.algorithm import RLAlgorithm, UpdateContext
from pro_rl.rl.batches import CriticBatch, Experience, PolicyGradientBatch, PreferenceBatch, UpdateBatches
from pro_rl.rl.registry import (
    ALGORITHMS,
    REWARD_SOURCES,
    build_algorithm,
    build_reward_source,
    register_algorithm,
    register_reward_source,
)
from pro_rl.rl.reward_source import RewardSource, ScorerSpec

__all__ = [
    "ALGORITHMS",
    "REWARD_SOURCES",
    "CriticBatch",
    "Experience",
    "PolicyGradientBatch",
    "PreferenceBatch",
    "RLAlgorithm",
    "RewardSource",
    "ScorerSpec",
    "UpdateBatches",
    "UpdateContext",
    "build_algorithm",
    "build_reward_source",
    "register_algorithm",
    "register_reward_source",
]
