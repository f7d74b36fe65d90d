"""pro_rl/config/resource_validation.py: training groups split the mini-batches; placement strategies are checked."""

import pytest

from pro_rl.config import ConfigError, load_config

REWARDS = [{"name": "a", "model": "tiny:gpt2"}]


def test_policy_replicas_that_split_the_mini_batch_are_accepted():
    # RLOO: 4 prompts × 2 samples = 8 rows, 2 ranks × micro-batches of 2
    config = load_config({"reward_models": REWARDS, "algorithm": {"prompt_batch_size": 4},
                          "rollout": {"num_samples": 2}, "trainer": {"micro_batch_size": 2},
                          "resources": {"policy": {"replicas": 2}}})

    assert config.resources.policy.replicas == 2


@pytest.mark.parametrize("role", ["policy", "critic"])
def test_replicas_that_cannot_split_the_mini_batch_name_the_key(role):
    with pytest.raises(ConfigError, match=rf"key 'resources\.{role}\.replicas': 3 ranks cannot share mini-batches "
                                          r"of 8 rows in micro-batches of 2"):
        load_config({"reward_models": REWARDS, "algorithm": {"name": "ppo", "prompt_batch_size": 4},
                     "rollout": {"num_samples": 2}, "trainer": {"micro_batch_size": 2},
                     "resources": {role: {"replicas": 3}}})


def test_a_placement_strategy_is_checked_and_excludes_colocation():
    config = load_config({"reward_models": REWARDS, "resources": {"policy": {"placement": "STRICT_SPREAD"}}})
    assert config.resources.policy.placement == "STRICT_SPREAD"

    with pytest.raises(ConfigError, match=r"key 'resources\.policy\.placement': 'SPREAD_OUT' is not one of PACK, "
                                          r"SPREAD, STRICT_PACK, STRICT_SPREAD"):
        load_config({"reward_models": REWARDS, "resources": {"policy": {"placement": "SPREAD_OUT"}}})
    with pytest.raises(ConfigError, match=r"key 'resources\.reference\.colocate_with': 'policy' has a placement "
                                          r"group of its own"):
        load_config({"reward_models": REWARDS, "resources": {"policy": {"placement": "PACK"},
                                                             "reference": {"colocate_with": "policy"}}})
    with pytest.raises(ConfigError, match=r"key 'resources\.critic\.colocate_with': cannot be combined with "
                                          r"resources\.critic\.placement 'SPREAD'"):
        load_config({"reward_models": REWARDS, "resources": {"critic": {"placement": "SPREAD",
                                                                        "colocate_with": "policy"}}})
