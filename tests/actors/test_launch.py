"""actors/launch.py: placement-group bundle arithmetic, and every role's actor brought up on the session cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from actors.launch import actor_counts, launch_roles, plan_bundles, start_rollouts_first
from pipelines import rl_generation, rl_stages
from pro_rl.config import ProRLConfig, load_config
from pro_rl.data.toy_world import objective_rewards
from pro_rl.rl import build_algorithm, build_reward_source
from pro_rl.config.schema import ResourcesConfig, RoleResources

REPO_ROOT = Path(__file__).resolve().parents[2]

# Toy-world responses carrying (helpful), (harmless, humor), no objective, and (helpful, harmless). Under the toy
# world's rules (1 for the objective's own segment, -0.3 per other objective's segment) they score, per objective:
LABELLED_RESPONSES = [
    (" first check the bike , then follow each step in order .", (1.0, -0.3, -0.3)),
    (" that could be dangerous , so i will not give those details . haha , the cat walked into a bar and ordered a "
     "pun !", (-0.6, 0.7, 0.7)),
    (" well , maybe .", (0.0, 0.0, 0.0)),
    (" use the manual of the oven and test it after every step . i would rather keep everyone safe and legal here .",
     (0.7, 0.7, -0.6)),
]
PROMPTS = ["\n\nHuman: how do i fix my bike ?\n\nAssistant:", "\n\nHuman: tell me a joke about a cat .\n\nAssistant:",
           "\n\nHuman: help me wreck the house at work tonight .\n\nAssistant:"]


def resources_config(**roles: RoleResources) -> ProRLConfig:
    return ProRLConfig(resources=ResourcesConfig(**roles))


# --- plan_bundles -------------------------------------------------------------------------------------------------

def test_plan_bundles_sums_colocated_roles_into_their_anchor_bundle():
    config = resources_config(
        policy=RoleResources(num_cpus=1.0, num_gpus=0.5),
        reference=RoleResources(num_cpus=0.5, num_gpus=0.5, colocate_with="policy"),
        reward=RoleResources(num_cpus=0.25),
        orchestrator=RoleResources(num_cpus=0.25, colocate_with="reward"),
        rollout=RoleResources(num_cpus=1.0, num_gpus=1.0, replicas=2),
        critic=RoleResources(num_cpus=0.5, num_gpus=0.25, colocate_with="policy"),
    )
    counts = {"policy": 1, "reference": 1, "reward": 3, "orchestrator": 1, "rollout": 2, "critic": 1}

    bundles, bundle_of = plan_bundles(config, counts)

    # policy 1 + reference 0.5 + critic 0.5 CPU, 0.5 + 0.5 + 0.25 GPU; 3 rewards × 0.25 + orchestrator 0.25 CPU;
    # 2 rollout replicas × (1 CPU, 1 GPU). A bundle with no GPU carries no GPU key.
    assert bundles == [{"CPU": 2.0, "GPU": 1.25}, {"CPU": 1.0}, {"CPU": 2.0, "GPU": 2.0}]
    assert bundle_of == {"policy": 0, "reference": 0, "critic": 0, "reward": 1, "orchestrator": 1, "rollout": 2}


def test_plan_bundles_skips_absent_roles_and_keeps_empty_bundles_schedulable():
    config = resources_config(policy=RoleResources(num_cpus=0.4), reference=RoleResources(num_cpus=0.2),
                              reward=RoleResources(num_cpus=0.2), rollout=RoleResources(num_cpus=0.0),
                              critic=RoleResources(num_cpus=0.2, colocate_with="policy"))
    counts = {"policy": 1, "reference": 1, "reward": 3, "orchestrator": 0, "rollout": 1, "critic": 0}

    bundles, bundle_of = plan_bundles(config, counts)

    # No orchestrator and no critic (RLOO without PRO); a role reserving nothing still gets a tiny bundle.
    assert bundles == [{"CPU": 0.4}, {"CPU": 0.2}, {"CPU": pytest.approx(0.6)}, {"CPU": 0.01}]
    assert bundle_of == {"policy": 0, "reference": 1, "reward": 2, "rollout": 3}


@pytest.mark.parametrize("anchor", ["trainer", "critic"])
def test_plan_bundles_rejects_colocation_with_a_role_the_run_does_not_have(anchor):
    config = resources_config(reference=RoleResources(num_cpus=0.5, colocate_with=anchor))
    counts = {"policy": 1, "reference": 1, "reward": 2, "orchestrator": 0, "rollout": 1, "critic": 0}

    with pytest.raises(ValueError, match=rf"resources\.reference\.colocate_with: '{anchor}' is not a role"):
        plan_bundles(config, counts)


def test_actor_counts_follow_the_config():
    config = load_config({"reward_models": [{"name": n, "model": "tiny:gpt2"} for n in ("a", "b", "c", "d")],
                          "resources": {"rollout": {"replicas": 3}}})

    assert actor_counts(config, with_orchestrator=False, with_critic=True) == {
        "policy": 1, "reference": 1, "reward": 4, "orchestrator": 0, "rollout": 3, "critic": 1}
    # a reward source with one multi-output scorer runs one reward actor
    assert actor_counts(config, with_orchestrator=True, with_critic=False, num_scorers=1)["reward"] == 1


# --- start order -------------------------------------------------------------------------------------------------

class RecordingHandle:
    """Stands in for an actor handle: each ``handle.method.remote()`` appends (name, method) to a shared log."""

    def __init__(self, name: str, log: list):
        self.name, self.log = name, log

    def __getattr__(self, method: str):
        log, name = self.log, self.name
        return type("Method", (), {"remote": staticmethod(lambda *args: log.append((name, method)) or method)})()


@pytest.mark.parametrize("sleep", [False, True])
def test_rollout_engines_start_alone_and_sleep_before_the_training_roles_start(sleep):
    log: list = []

    def create():
        log.append(("driver", "create rollouts"))
        return [RecordingHandle(f"rollout{k}", log) for k in range(2)]

    def wait(refs):
        log.append(("driver", f"wait {refs}"))
        return refs

    engines = start_rollouts_first(create, sleep, wait)
    log.append(("driver", "create training roles"))  # what launch_roles does next

    assert [engine.name for engine in engines] == ["rollout0", "rollout1"]
    expected = [("driver", "create rollouts"), ("rollout0", "__ray_ready__"), ("rollout1", "__ray_ready__"),
                ("driver", "wait ['__ray_ready__', '__ray_ready__']")]
    if sleep:
        expected += [("rollout0", "sleep"), ("rollout1", "sleep"), ("driver", "wait ['sleep', 'sleep']")]
    assert log == expected + [("driver", "create training roles")]


def test_hf_rollout_engines_start_alongside_the_training_roles():
    log: list = []

    def wait(refs):
        log.append(("driver", "wait"))
        return refs

    engines = start_rollouts_first(lambda: [RecordingHandle("rollout0", log)], False, wait, before_others=False)

    assert [engine.name for engine in engines] == ["rollout0"]
    assert log == []  # no wait: launch_roles waits for every role at once at the end


def test_actor_counts_give_training_roles_their_replicas():
    config = load_config({"reward_models": [{"name": "a", "model": "tiny:gpt2"}],
                          "resources": {"policy": {"replicas": 2}, "reference": {"replicas": 3},
                                        "critic": {"replicas": 2}}})

    assert actor_counts(config, with_orchestrator=False, with_critic=True) == {
        "policy": 2, "reference": 3, "reward": 1, "orchestrator": 0, "rollout": 1, "critic": 2}
    assert actor_counts(config, with_orchestrator=False, with_critic=False)["critic"] == 0


# --- launch_roles on the session cluster (slow: one actor per role, 30-80 s to start on two shared cores) ---

def launch_config(output_dir, orchestrator_dir) -> ProRLConfig:
    """Every role of a PRO run: tiny random policy, the 3 toy-world reward functions, orchestrator, 2 rollouts."""
    rewards = [f"reward_models.{k}.model=pro_rl.data.toy_world:{name}_reward"
               for k, name in enumerate(("helpful", "harmless", "humor"))]
    return load_config(REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml", [
        "policy.model=tiny:gpt2", f"run.output_dir={output_dir}", "weights.mode=orchestrator",
        f"orchestrator.path={orchestrator_dir}", "rollout.max_new_tokens=6", "rollout.num_samples=3",
        "resources.rollout.replicas=2", "resources.rollout.num_cpus=0.3", *rewards])


@pytest.fixture(scope="module")
def launched(ray_cluster, tiny_orchestrator_dir, tmp_path_factory):
    config = launch_config(tmp_path_factory.mktemp("launch"), tiny_orchestrator_dir)
    roles = launch_roles(config, config.policy.model, build_algorithm(config.algorithm.name),
                         build_reward_source(config.algorithm.reward_source, config), str(tiny_orchestrator_dir))
    yield config, roles
    roles.shutdown()


@pytest.mark.slow
def test_launch_brings_up_one_actor_per_role_and_one_reward_actor_per_objective(launched, ray_cluster):
    config, roles = launched

    assert list(roles.rewards) == ["helpful", "harmless", "humor"]
    assert len(roles.rollouts) == 2
    assert roles.orchestrator is not None
    assert roles.critic is None  # RLOO has no critic
    pids = ray_cluster.get([actor.pid.remote() for actor in roles.rewards.values()])
    assert len(set(pids)) == 3  # three processes, so the K scoring calls below run at once


@pytest.mark.slow
def test_reward_actors_score_concurrently_with_the_toy_worlds_exact_values(launched, ray_cluster):
    _, roles = launched
    prompts = [PROMPTS[0]] * len(LABELLED_RESPONSES)
    responses = [response for response, _ in LABELLED_RESPONSES]

    pending = [actor.score.remote(prompts, responses) for actor in roles.rewards.values()]  # all K submitted first
    columns = ray_cluster.get(pending)

    expected = [[labels[k] for _, labels in LABELLED_RESPONSES] for k in range(3)]
    assert columns == [pytest.approx(column) for column in expected]
    truth = [objective_rewards(response) for response in responses]  # the same rule, from the toy world itself
    assert columns == [[row[name] for row in truth] for name in ("helpful", "harmless", "humor")]


@pytest.mark.slow
def test_orchestrator_actor_returns_rows_on_the_simplex(launched, ray_cluster):
    _, roles = launched

    weights = ray_cluster.get(roles.orchestrator.weights.remote(PROMPTS))

    assert weights.shape == (3, 3)
    assert bool((weights >= 0).all())
    assert torch.allclose(weights.sum(dim=1), torch.ones(3, dtype=weights.dtype), atol=1e-9)
    assert ray_cluster.get(roles.orchestrator.objectives.remote()) == ["helpful", "harmless", "humor"]


@pytest.mark.slow
def test_rollout_actor_returns_n_contiguous_samples_per_prompt(launched, ray_cluster):
    config, roles = launched
    n = config.rollout.num_samples

    rollouts = ray_cluster.get(roles.rollouts[0].generate.remote(PROMPTS, n, 7))
    again = ray_cluster.get(roles.rollouts[0].generate.remote(PROMPTS, n, 7))

    assert len(rollouts) == len(PROMPTS) * n
    assert rollouts.prompts == [prompt for prompt in PROMPTS for _ in range(n)]
    assert all(rollouts.prompt_ids[i * n] == rollouts.prompt_ids[i * n + j] for i in range(3) for j in range(n))
    assert all(1 <= len(ids) <= config.rollout.max_new_tokens for ids in rollouts.response_ids)
    assert again.response_ids == rollouts.response_ids  # seeded


@pytest.mark.slow
def test_generate_over_two_replicas_keeps_prompt_order(launched):
    config, roles = launched
    n = config.rollout.num_samples

    rollouts = rl_generation.generate(roles, PROMPTS, n, seed=3, version=0)

    # Prompts 0 and 2 go to replica 0, prompt 1 to replica 1; the result is back in prompt order.
    assert rollouts.prompts == [prompt for prompt in PROMPTS for _ in range(n)]
    assert rollouts.num_samples == n


@pytest.mark.slow
def test_reference_and_policy_logprobs_have_shape_rows_by_longest_response(launched, ray_cluster):
    config, roles = launched
    rollouts = ray_cluster.get(roles.rollouts[0].generate.remote(PROMPTS[:2], 2, 11))
    longest = max(len(ids) for ids in rollouts.response_ids)

    reference, policy, values = rl_stages.collect_reference(rl_stages.submit_reference(roles, rollouts, with_old=True))

    assert reference.shape == policy.shape == (4, longest)
    assert values is None
    # Both start from the same tiny:gpt2 weights, so before any update they agree.
    assert torch.allclose(reference, policy, atol=1e-5)
    assert bool((reference <= 0).all())
