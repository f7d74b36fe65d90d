"""Typed configs (OmegaConf structured dataclasses), YAML loading with dotted overrides, validation."""

from pro_rl.config.errors import ConfigError
from pro_rl.config.loading import field_help, load_config, save_config, to_yaml
from pro_rl.config.schema import (
    PIPELINES,
    AlgorithmConfig,
    DataConfig,
    ModelConfig,
    OrchestratorConfig,
    PolicyConfig,
    ProRLConfig,
    RewardModelConfig,
    RolloutConfig,
    RunConfig,
    TrainerConfig,
    TrainingConfig,
    WeightsConfig,
)
from pro_rl.config.validation import validate

__all__ = [
    "PIPELINES", "AlgorithmConfig", "ConfigError", "DataConfig", "ModelConfig", "OrchestratorConfig", "PolicyConfig",
    "ProRLConfig", "RewardModelConfig", "RolloutConfig", "RunConfig", "TrainerConfig", "TrainingConfig",
    "WeightsConfig", "field_help", "load_config", "save_config", "to_yaml", "validate",
]
