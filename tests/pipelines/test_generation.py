"""The pipelines' generator on the Ray roles (``RoleGenerator``) gives what the same generator in the driver
(``LocalGenerator``) gives: the same samples for a seed with one engine, the same scores, the same policy switches and
soups; with two engines the prompts come back in order; closing it frees its resources."""

import pytest
import ray
import torch

from actors.launch import without_absent_anchors
from pipelines.generation import RoleGenerator, make_generator, open_generator
from pro_rl.config import RewardModelConfig, load_config
from pro_rl.rollout.generator import LocalGenerator

PROMPTS = ["how do i fix my bike ?", "tell me a joke about a kettle", "how can i burn a tent ?"]


@pytest.fixture(scope="module")
def policies(tmp_path_factory, tiny_policy_saver):
    root = tmp_path_factory.mktemp("generation_policies")
    return [str(tiny_policy_saver(root / name, noise_seed=seed)) for name, seed in (("a", 1), ("b", 2))]


def _config(*overrides):
    config = load_config("configs/tiny/evaluate.yaml", ["orchestrator.path=''", "evaluate.policy=''",
                                                         "rollout.max_new_tokens=6", "rollout.num_samples=2",
                                                         "resources.reward.num_cpus=0.1", *overrides])
    # an untrained tiny reward model (its scores differ between responses) and one of the toy world's functions
    config.reward_models = [RewardModelConfig(name="helpful", model="tiny:gpt2"),
                            RewardModelConfig(name="humor", model="pro_rl.data.toy_world:humor_reward")]
    return config


def _samples(generator, seed=3):
    rollouts = generator.generate(PROMPTS, 2, seed=seed)
    return rollouts.prompts, rollouts.responses, generator.score(rollouts.prompts, rollouts.responses)


@pytest.mark.timeout(300)
def test_roles_sample_score_switch_policies_and_interpolate_like_the_driver(ray_cluster, policies):
    config = _config()
    local = LocalGenerator(config, policies[0])
    with open_generator(config, policies[0]) as remote:
        assert isinstance(remote, RoleGenerator) and remote.objectives == ["helpful", "humor"]
        prompts, responses, scores = _samples(remote)
        expected = _samples(local)
        assert (prompts, responses) == expected[:2] and torch.equal(scores, expected[2])
        assert scores.dtype == torch.float64 and scores.shape == (6, 2)

        remote.use_policy(policies[1])
        local.use_policy(policies[1])
        switched = _samples(remote)
        assert switched[1] == _samples(local)[1] and switched[1] != responses  # the other policy's samples

        remote.use_soup(policies, [0.25, 0.75])
        local.use_soup(policies, [0.25, 0.75])
        assert _samples(remote)[1] == _samples(local)[1]
    assert len(remote.roles.actors()) == 3 and all(_dead(actor) for actor in remote.roles.actors())


def _dead(actor) -> bool:
    try:
        ray.get(actor.__ray_ready__.remote(), timeout=10)
    except ray.exceptions.RayActorError:
        return True
    return False


@pytest.mark.timeout(300)
def test_two_engines_return_the_samples_in_prompt_order_and_policy_switches_reach_both(ray_cluster, policies):
    config = _config("resources.rollout.replicas=2", "resources.rollout.num_cpus=0.2")
    with open_generator(config, policies[0]) as remote:
        remote.use_policy(policies[1])  # before the engines start: they start on it
        rollouts = remote.generate(PROMPTS, 2, seed=5)
        assert rollouts.prompts == [prompt for prompt in PROMPTS for _ in range(2)]
        # replica i gets prompts i, i + 2, ... seeded seed + i, as in the RL loop
        local = LocalGenerator(config, policies[1])
        first = local.generate([PROMPTS[0], PROMPTS[2]], 2, seed=5).responses
        assert rollouts.responses[:2] + rollouts.responses[4:] == first
        assert rollouts.responses[2:4] == local.generate(PROMPTS[1:2], 2, seed=6).responses


def test_in_driver_is_the_local_generator_and_refused_with_vllm():
    assert isinstance(make_generator(_config("rollout.in_driver=true"), "tiny:gpt2"), LocalGenerator)
    from pro_rl.config import ConfigError

    with pytest.raises(ConfigError, match="rollout.in_driver"):
        load_config("configs/gpu/single_gpu_vllm.yaml", ["rollout.in_driver=true"])


def test_a_role_colocated_with_a_role_that_does_not_run_gets_its_own_bundle():
    config = _config("resources.rollout.colocate_with=policy", "resources.reward.colocate_with=rollout")
    cleared = without_absent_anchors(config, {"rollout": 1, "reward": 2, "policy": 0})
    assert cleared.resources.rollout.colocate_with == ""
    assert cleared.resources.reward.colocate_with == "rollout"  # the rollout engines do run
