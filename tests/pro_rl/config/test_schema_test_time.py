"""The config sections of the test-time methods (wic, evaluate, soups): paper defaults, help, tiny configs."""

from dataclasses import fields

import pytest

from pro_rl.config import load_config
from pro_rl.config.schema import EvaluateConfig, SoupsConfig, WicConfig


def test_wic_defaults_are_the_paper_values():
    wic = WicConfig()
    assert (wic.offline_steps, wic.online_steps, wic.online_iterations, wic.online_prompts) == (10000, 5000, 2, 5000)
    assert (wic.quantile, wic.tau, wic.conditioning) == (0.7, 0.1, "wic")


@pytest.mark.parametrize("section", [WicConfig, EvaluateConfig, SoupsConfig])
def test_every_field_has_one_line_help(section):
    for item in fields(section):
        assert item.metadata["help"] and "\n" not in item.metadata["help"]


@pytest.mark.parametrize("name, pipeline, conditioning", [
    ("pro_wic", "pro_wic", "wic"), ("ric", "pro_wic", "ric"), ("evaluate", "evaluate", "wic"),
])
def test_tiny_configs_load(name, pipeline, conditioning):
    config = load_config(f"configs/tiny/{name}.yaml", ["orchestrator.path=''", "evaluate.policy=tiny:gpt2"])
    assert config.pipeline == pipeline and config.wic.conditioning == conditioning
    assert config.objectives == ["helpful", "harmless", "humor"]
    assert all(rm.model.startswith("pro_rl.data.toy_world:") for rm in config.reward_models)


def test_tiny_soups_config_names_its_rl_config():
    config = load_config("configs/tiny/rewarded_soups.yaml", ["orchestrator.path=''"])
    assert config.pipeline == "rewarded_soups" and config.evaluate.method == "soups"
    assert config.soups.rl_config == "configs/tiny/pro_morlhf.yaml"
