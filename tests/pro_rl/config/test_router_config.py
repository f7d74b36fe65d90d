"""Config keys of the router ablations: ``orchestrator.objective``, ``weights.mode`` bag_of_words / oracle."""

from pathlib import Path

import pytest

from pro_rl.config import ConfigError, load_config

REPO_ROOT = Path(__file__).resolve().parents[3]
RL_CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
ORCHESTRATOR_CONFIG = REPO_ROOT / "configs" / "tiny" / "orchestrator.yaml"
STAND_INS = [f"reward_models.{i}.model=pro_rl.data.toy_world:{name}_reward"  # no trained models needed
             for i, name in enumerate(("helpful", "harmless", "humor"))] + ["policy.model=tiny:gpt2"]


def one_line_error(config, overrides) -> str:
    with pytest.raises(ConfigError) as error:
        load_config(config, [*STAND_INS, *overrides])
    assert "\n" not in str(error.value)
    return str(error.value)


def test_router_defaults_are_pro_kl_with_beta_one():
    spec = load_config(ORCHESTRATOR_CONFIG, STAND_INS).orchestrator
    assert (spec.objective, spec.bt_beta) == ("pro_kl", 1.0)
    assert load_config(ORCHESTRATOR_CONFIG, [*STAND_INS, "orchestrator.objective=bradley_terry"]).orchestrator.objective \
        == "bradley_terry"


def test_unknown_objective_and_bad_beta_are_refused():
    assert "key 'orchestrator.objective': 'armo' is not one of pro_kl, bradley_terry" in \
        one_line_error(ORCHESTRATOR_CONFIG, ["orchestrator.objective=armo"])
    assert "orchestrator.bt_beta" in one_line_error(ORCHESTRATOR_CONFIG, ["orchestrator.bt_beta=0"])


def test_oracle_needs_a_module_function():
    message = one_line_error(RL_CONFIG, ["weights.mode=oracle", "orchestrator.path=''"])
    assert "key 'weights.function': '': weights.mode 'oracle' needs a 'module:function'" in message
    config = load_config(RL_CONFIG, [*STAND_INS, "weights.mode=oracle", "orchestrator.path=''",
                                     "weights.function=pro_rl.data.toy_world_oracle:true_prompt_weights"])
    assert config.weights.function == "pro_rl.data.toy_world_oracle:true_prompt_weights"


def test_bag_of_words_needs_the_baseline_beside_the_orchestrator(tiny_orchestrator_dir):
    message = one_line_error(RL_CONFIG, ["weights.mode=bag_of_words", f"orchestrator.path={tiny_orchestrator_dir}"])
    assert f"key 'orchestrator.path': no bag_of_words.safetensors in {tiny_orchestrator_dir}" in message
