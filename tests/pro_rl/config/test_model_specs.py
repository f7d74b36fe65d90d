"""Model-spec checks of ``pro_rl/config/model_specs.py`` that ``validate`` runs: here the evaluate pipeline's
``evaluate.policy`` and ``evaluate.soup_policies``, which must exist when they look like local paths."""

import pytest

from pro_rl.config import ConfigError, load_config
from pro_rl.config.model_specs import TINY_PREFIX, looks_local

EVALUATE = "configs/tiny/evaluate.yaml"


def _evaluate(*overrides):
    return load_config(EVALUATE, ["orchestrator.path=''", "evaluate.policy=''", *overrides])


def test_missing_evaluate_policy_is_no_such_model_directory(tmp_path):
    missing = tmp_path / "no" / "policy"
    with pytest.raises(ConfigError) as raised:
        _evaluate(f"evaluate.policy={missing}")
    assert raised.value.key == "evaluate.policy"
    assert raised.value.reason == f"no such model directory: {missing}"
    assert raised.value.origin == EVALUATE


def test_missing_soup_policy_names_its_index(tmp_path):
    (tmp_path / "helpful").mkdir()
    missing = tmp_path / "harmless"
    with pytest.raises(ConfigError) as raised:
        _evaluate("evaluate.method=soups", f"evaluate.soup_policies=[{tmp_path / 'helpful'},{missing}]")
    assert raised.value.key == "evaluate.soup_policies.1"
    assert raised.value.reason == f"no such model directory: {missing}"


def test_existing_empty_and_tiny_evaluate_policies_load(tmp_path):
    assert _evaluate(f"evaluate.policy={tmp_path}").evaluate.policy == str(tmp_path)
    assert _evaluate().evaluate.policy == ""
    assert _evaluate("evaluate.policy=tiny:gpt2").evaluate.policy == "tiny:gpt2"
    soups = _evaluate("evaluate.method=soups", f"evaluate.soup_policies=[{tmp_path},{tmp_path}]")
    assert soups.evaluate.soup_policies == [str(tmp_path)] * 2


def test_evaluate_policy_is_checked_only_by_the_evaluate_pipeline(tmp_path):
    missing = str(tmp_path / "no" / "policy")
    config = load_config(EVALUATE, ["orchestrator.path=''", "pipeline=pro_wic", f"evaluate.policy={missing}"])
    assert config.pipeline == "pro_wic" and config.evaluate.policy == missing


def test_a_path_is_told_from_a_hub_id():
    assert looks_local("./runs/policy") and looks_local("runs/tiny/policy") and looks_local("~/policy")
    assert not looks_local("Qwen/Qwen2.5-7B") and TINY_PREFIX == "tiny:"
