"""Every shipped YAML config loads and validates (with trained-model paths replaced by tiny stand-ins)."""

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from pro_rl.config import load_config

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
MOSLIM_RL_CONFIGS = ("moslim.yaml", "moslim_ppo.yaml", "moslim_online_dpo.yaml")
CONFIGS = sorted(path for path in CONFIG_DIR.rglob("*.yaml") if path.name != "base.yaml")


def stand_ins(path: Path, moslim_classifier: Path | None = None) -> list:
    """Overrides that point run-produced paths (trained policies, reward models, orchestrators, MOSLIM's classifier)
    at tiny specs."""
    raw = OmegaConf.load(path)
    if path.name in MOSLIM_RL_CONFIGS:  # no reward models or orchestrator: the classifier is the reward
        return ["policy.model=tiny:gpt2", f"moslim.reward_model={moslim_classifier}"]
    count = len(raw.get("reward_models", [])) if "reward_models" in raw else 3
    overrides = ["orchestrator.path=''", "weights.mode=uniform", "policy.model=tiny:gpt2", "evaluate.policy=''"]
    overrides += [f"reward_models.{i}.model=tiny:gpt2" for i in range(count)]
    return overrides


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(CONFIG_DIR)) for p in CONFIGS])
def test_config_loads(path, tiny_moslim_classifier_dir):
    config = load_config(path, stand_ins(path, tiny_moslim_classifier_dir))
    assert config.pipeline
    assert len(config.objectives) == len(set(config.objectives)) >= 1


def test_paper_configs_carry_the_paper_values():
    ultrafeedback = load_config(CONFIG_DIR / "ultrafeedback" / "pro_morlhf.yaml", stand_ins(
        CONFIG_DIR / "ultrafeedback" / "pro_morlhf.yaml"))
    assert ultrafeedback.rollout.temperature == 0.8 and ultrafeedback.rollout.top_p == 0.95
    assert ultrafeedback.rollout.num_samples == 8 and ultrafeedback.policy.learning_rate == 5e-7
    assert ultrafeedback.algorithm.kl_coef == 0.1 and ultrafeedback.orchestrator.tau == 0.1
    assert ultrafeedback.objectives == ["instruction_following", "truthfulness", "honesty", "helpfulness"]
    three = load_config(CONFIG_DIR / "hh_rlhf" / "three_objectives.yaml",
                        stand_ins(CONFIG_DIR / "hh_rlhf" / "three_objectives.yaml"))
    assert three.objectives == ["harmless", "helpful", "humor"]
    assert three.reward_models[2].label_index == 1 and three.reward_models[2].response_only
