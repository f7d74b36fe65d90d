"""The RL loop's stages (``pipelines.rl_stages``) without a Ray cluster: the pure ones on tensors, with values
worked out by hand, and the weight-sync and sleep steps with fake actors.

A fake actor's ``method.remote(...)`` runs at once, logs (actor, method, arguments) and returns its result;
``ray.get`` and ``ray.put`` hand values through. The log shows the order in which the driver issued its calls.
"""

import math
from types import SimpleNamespace

import pytest
import torch

from actors.launch import Roles
from pipelines import rl_generation, rl_stages
from pro_rl.algorithms import RunningNormaliser
from pro_rl.config import load_config
from pro_rl.rl import UpdateBatches, build_reward_source
from pro_rl.rollout import RolloutPlacement, Rollouts

GROUP_ADDRESS = ("10.0.0.1", 29600)
METADATA = [("model.embed_tokens.weight", "bfloat16", (8, 4))]


class FakeActor:
    def __init__(self, name: str, log: list, device: str):
        self.name, self.log, self.device, self.version = name, log, device, 0
        self._actor_id = SimpleNamespace(hex=lambda: name)

    def __getattr__(self, method: str):
        if method.startswith(("_", "on_")):
            raise AttributeError(method)
        handler = getattr(self, f"on_{method}", lambda *args, **kwargs: None)

        def remote(*args, **kwargs):
            self.log.append((self.name, method, args))
            return handler(*args, **kwargs)
        return SimpleNamespace(remote=remote)

    # what the real actors return
    def on_device_identity(self):
        return self.device

    def on_weights_for_sync(self, transport):
        return {"transport": transport}

    def on_weight_group_address(self):
        return GROUP_ADDRESS

    def on_weight_metadata(self):
        return METADATA

    def on_update(self, batch, seed):
        return {"loss/policy": 0.5}

    def on_load_weights(self, payload, version):
        self.version = version
        return version

    def on_weights_version(self):
        return self.version

    def on_generate(self, prompts, num_samples, seed, behaviour_logprobs=False):
        rows = len(prompts) * num_samples
        return Rollouts(prompts=[p for p in prompts for _ in range(num_samples)], responses=["r"] * rows,
                        prompt_ids=[[1]] * rows, response_ids=[[2]] * rows, num_samples=num_samples,
                        logprobs=[[-0.1 * self.version]] * rows if behaviour_logprobs else None)


@pytest.fixture
def log(monkeypatch):
    monkeypatch.setattr(rl_stages.ray, "get", lambda refs, **kwargs: refs)
    monkeypatch.setattr(rl_stages.ray, "put", lambda value: value)
    return []


def make_roles(log, engine_devices, placement: RolloutPlacement) -> Roles:
    return Roles(policy=FakeActor("policy", log, "GPU-0"), reference=FakeActor("reference", log, "GPU-0"), rewards={},
                 rollouts=[FakeActor(f"rollout{i}", log, device) for i, device in enumerate(engine_devices)],
                 rollout_placement=placement)


def calls(log, method: str) -> list:
    return [(actor, args) for actor, name, args in log if name == method]


def position(log, actor: str, method: str) -> int:
    return next(i for i, (name, called, _) in enumerate(log) if (name, called) == (actor, method))


def test_colocated_vllm_engines_sleep_before_the_update_and_are_woken_by_the_sync(log):
    roles = make_roles(log, ["GPU-0"], RolloutPlacement("vllm", 1, sleep_mode=True))

    rl_stages.update(roles, UpdateBatches(policy="policy batch"), seed=1)
    rl_stages.sync_weights(roles, 1)

    assert position(log, "rollout0", "sleep") < position(log, "policy", "update") < position(
        log, "rollout0", "load_weights")
    assert calls(log, "load_weights") == [("rollout0", ({"transport": "cuda_ipc"}, 1))]  # same GPU: IPC handles


def test_engines_without_sleep_mode_are_not_put_to_sleep(log):
    for placement in (RolloutPlacement("hf"), RolloutPlacement("vllm", 1, sleep_mode=False)):
        rl_stages.update(make_roles(log, ["GPU-0"], placement), UpdateBatches(policy="policy batch"), seed=1)
    assert calls(log, "sleep") == []
    assert len(calls(log, "update")) == 2


def test_hf_engines_take_ipc_on_the_policys_gpu_and_a_host_copy_elsewhere(log):
    roles = make_roles(log, ["GPU-0", "GPU-1"], RolloutPlacement("hf"))

    rl_stages.sync_weights(roles, 4)

    assert calls(log, "load_weights") == [("rollout0", ({"transport": "cuda_ipc"}, 4)),
                                          ("rollout1", ({"transport": "host"}, 4))]
    assert calls(log, "broadcast_weights") == []


def test_vllm_engines_on_other_gpus_get_a_nccl_broadcast_over_a_group_formed_once(log):
    roles = make_roles(log, ["GPU-1", "GPU-2"], RolloutPlacement("vllm", tensor_parallel_size=2))

    rl_stages.sync_weights(roles, 1)
    rl_stages.sync_weights(roles, 2)

    # World: the policy (rank 0) and 2 engines x 2 tensor-parallel workers (ranks 1-2 and 3-4).
    assert calls(log, "join_weight_group") == [("policy", (*GROUP_ADDRESS, 5)), ("rollout0", (*GROUP_ADDRESS, 1, 5)),
                                               ("rollout1", (*GROUP_ADDRESS, 3, 5))]
    assert len(calls(log, "broadcast_weights")) == 2
    payload = {"transport": "nccl", "metadata": METADATA}
    assert calls(log, "load_weights") == [("rollout0", (payload, 1)), ("rollout1", (payload, 1)),
                                          ("rollout0", (payload, 2)), ("rollout1", (payload, 2))]
    assert calls(log, "weights_for_sync") == []


def test_a_restarted_vllm_engine_gets_a_new_group_and_every_engine_is_resynced(log):
    roles = make_roles(log, ["GPU-1", "GPU-2"], RolloutPlacement("vllm", tensor_parallel_size=1))
    rl_stages.sync_weights(roles, 3)
    roles.rollouts[1].version = 0  # Ray restarted it: initial weights, no weight group

    rollouts = rl_generation.generate(roles, ["a", "b"], 2, seed=0, version=3)

    assert rollouts.prompts == ["a", "a", "b", "b"]
    assert [args[-1] for _, args in calls(log, "join_weight_group")] == [3, 3, 3, 3, 3, 3]  # formed twice
    assert [(actor, args[1]) for actor, args in calls(log, "load_weights")] == [
        ("rollout0", 3), ("rollout1", 3), ("rollout0", 3), ("rollout1", 3)]
    assert len(calls(log, "generate")) == 4  # the batch was sampled again after the re-sync


def test_a_generation_collected_after_an_engine_restart_is_sampled_again_with_the_current_weights(log):
    roles = make_roles(log, ["GPU-1"], RolloutPlacement("hf"))
    rl_stages.sync_weights(roles, 4)
    pending = rl_generation.submit_generation(roles, ["a"], 2, seed=0, version=4, behaviour_logprobs=True)
    rollouts, version = rl_generation.collect_generation(roles, pending, current_version=5)
    assert version == 4 and rollouts.logprobs == [[-0.4], [-0.4]]  # sampled by version 4, as submitted

    roles.rollouts[0].version = 0  # restarted while it generated (the engine's answer is the initial weights')
    pending = rl_generation.submit_generation(roles, ["a"], 2, seed=0, version=4, behaviour_logprobs=True)
    rollouts, version = rl_generation.collect_generation(roles, pending, current_version=5)

    assert version == 5 and rollouts.logprobs == [[-0.5], [-0.5]]  # re-synced to the policy of now, sampled again
    assert [args[1] for _, args in calls(log, "load_weights")] == [4, 5]


def test_the_weight_sync_state_belongs_to_the_roles(log):
    roles = make_roles(log, ["GPU-1"], RolloutPlacement("vllm", tensor_parallel_size=1))
    rl_stages.sync_weights(roles, 1)
    other_run = make_roles(log, ["GPU-1"], RolloutPlacement("vllm", tensor_parallel_size=1))
    rl_stages.sync_weights(other_run, 1)

    # each run's roles learn the devices and form their group themselves (no state shared between runs)
    assert roles.weight_sync.device_of == {"policy": "GPU-0", "rollout0": "GPU-1"}
    assert len(calls(log, "device_identity")) == 4
    assert len(calls(log, "join_weight_group")) == 4


def test_update_sends_the_policy_batch_and_the_critic_batch_to_their_roles(log):
    roles = make_roles(log, ["GPU-0"], RolloutPlacement("hf"))
    roles.critic = FakeActor("critic", log, "GPU-0")

    stats = rl_stages.update(roles, UpdateBatches(policy="policy batch", critic="critic batch"), seed=7)

    assert calls(log, "update") == [("policy", ("policy batch", 7)), ("critic", ("critic batch", 7))]
    assert stats == {"loss/policy": 0.5}


# --- pure stages on tensors ---------------------------------------------------------------------------------------

def rollouts_of(prompts, num_samples, response_lengths):
    """Rollouts whose response i has ``response_lengths[i]`` tokens; response text "r<i>"."""
    rows = len(prompts) * num_samples
    return Rollouts(prompts=[p for p in prompts for _ in range(num_samples)], responses=[f"r{i}" for i in range(rows)],
                    prompt_ids=[[1, 2]] * rows, response_ids=[[5] * length for length in response_lengths],
                    num_samples=num_samples)


def test_assemble_replicas_undoes_the_round_robin_deal():
    # 3 prompts over 2 replicas: replica 0 got prompts 0 and 2, replica 1 prompt 1; 2 samples each
    replica0 = Rollouts(["a", "a", "c", "c"], ["a0", "a1", "c0", "c1"], [[1]] * 4, [[10], [11], [30], [31]], 2)
    replica1 = Rollouts(["b", "b"], ["b0", "b1"], [[2]] * 2, [[20], [21]], 2)

    rollouts = rl_generation.assemble_replicas([replica0, replica1], num_replicas=2, num_prompts=3, num_samples=2)

    assert rollouts.prompts == ["a", "a", "b", "b", "c", "c"]
    assert rollouts.responses == ["a0", "a1", "b0", "b1", "c0", "c1"]
    assert rollouts.response_ids == [[10], [11], [20], [21], [30], [31]]
    assert rollouts.prompt_ids == [[1], [1], [2], [2], [1], [1]]
    assert rl_generation.assemble_replicas([replica1], 1, 1, 2) is replica1


def test_assemble_replicas_keeps_each_rows_behaviour_logprobs_and_pads_them_into_a_tensor():
    replica0 = Rollouts(["a", "a", "c", "c"], ["a0", "a1", "c0", "c1"], [[1]] * 4, [[10], [11, 12], [30], [31]], 2,
                        logprobs=[[-1.0], [-1.1, -1.2], [-3.0], [-3.1]])
    replica1 = Rollouts(["b", "b"], ["b0", "b1"], [[2]] * 2, [[20], [21]], 2, logprobs=[[-2.0], [-2.1]])

    rollouts = rl_generation.assemble_replicas([replica0, replica1], num_replicas=2, num_prompts=3, num_samples=2)

    assert rollouts.logprobs == [[-1.0], [-1.1, -1.2], [-2.0], [-2.1], [-3.0], [-3.1]]
    padded = rl_generation.behaviour_logprobs(rollouts)
    assert padded.shape == (6, 2)
    torch.testing.assert_close(padded[:2], torch.tensor([[-1.0, 0.0], [-1.1, -1.2]]))
    with pytest.raises(ValueError, match="behaviour_logprobs=True"):
        rl_generation.behaviour_logprobs(replica0.__class__(["b"], ["b0"], [[2]], [[20]], 1))


def config_with(*overrides):
    return load_config({"reward_models": [{"name": n, "model": "tiny:gpt2"} for n in ("helpful", "harmless")]},
                       list(overrides))


def test_scalarise_rewards_weights_each_prompts_samples_and_zeroes_invalid_ones():
    config = config_with("algorithm.normalise_rewards=false")
    reward_matrix = torch.tensor([[1.0, 2.0], [3.0, math.nan], [-1.0, 4.0], [0.0, 0.0]])
    weights = torch.tensor([[0.5, 0.5], [0.25, 0.75]])  # per prompt, 2 samples each
    valid = torch.tensor([True, False, True, True])

    scalarised = rl_stages.scalarise_rewards(config, reward_matrix, weights, valid, RunningNormaliser(2))

    # 0.5·1 + 0.5·2 = 1.5; invalid -> 0; 0.25·(-1) + 0.75·4 = 2.75; 0
    torch.testing.assert_close(scalarised, torch.tensor([1.5, 0.0, 2.75, 0.0]))


def test_scalarise_rewards_normalises_with_the_valid_rows_statistics():
    config = config_with("algorithm.normalise_rewards=true")
    reward_matrix = torch.tensor([[1.0, 10.0], [3.0, math.nan], [5.0, 30.0], [3.0, 20.0]])
    normaliser = RunningNormaliser(2)

    scalarised = rl_stages.scalarise_rewards(config, reward_matrix, torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
                                             torch.tensor([True, False, True, True]), normaliser)

    # the normaliser saw rows 0, 2, 3 only: objective 0 mean 3, objective 1 mean 20; weights pick objective 0 for
    # prompt 0 and objective 1 for prompt 1, so the totals are the z-scores (1 - 3)/s0, 0 (invalid: not the z-score
    # of a placeholder), (30 - 20)/s1 and (20 - 20)/s1 = 0
    expected = normaliser.normalise(torch.tensor([[1.0, 10.0], [0.0, 0.0], [5.0, 30.0], [3.0, 20.0]]))
    torch.testing.assert_close(scalarised, torch.stack([expected[0, 0], torch.tensor(0.0), expected[2, 1],
                                                        expected[3, 1]]))
    state = normaliser.state_dict()
    assert state["count"] == 3 and state["mean"] == pytest.approx([3.0, 20.0])
    assert scalarised[0] < 0 < scalarised[2] and scalarised[3] == pytest.approx(0.0, abs=1e-6)


def test_step_metrics_by_hand():
    reward_matrix = torch.tensor([[1.0, 2.0], [3.0, math.nan], [5.0, 4.0], [7.0, 0.0]])
    valid = torch.tensor([True, False, True, True])
    weights = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    scalarised = torch.tensor([1.5, 0.0, 5.0, 7.0])
    rollouts = rollouts_of(["a", "b"], 2, [1, 2, 3, 6])

    values = rl_stages.step_metrics(["helpful", "harmless"], reward_matrix, valid, weights, scalarised, rollouts)

    assert values["reward/helpful/mean"] == pytest.approx((1 + 5 + 7) / 3)  # valid rows only
    assert values["reward/harmless/mean"] == pytest.approx((2 + 4 + 0) / 3)
    assert values["reward/total/mean"] == pytest.approx((1.5 + 5 + 7) / 3)
    assert values["weights/helpful/mean"] == pytest.approx(0.75)
    assert values["weights/helpful/std"] == pytest.approx(math.sqrt(0.125))  # unbiased std of (0.5, 1.0)
    assert values["weights/entropy"] == pytest.approx(math.log(2) / 2)  # (log 2 + 0) / 2
    assert values["response/length"] == 3.0
    assert values["reward/skipped"] == 1.0


def test_score_maps_the_reward_actors_outputs_through_the_reward_source(log):
    class Scorer(FakeActor):
        def __init__(self, name, log, column):
            super().__init__(name, log, "cpu")
            self.column = column

        def on_score(self, prompts, responses):
            return self.column

    config = config_with()
    roles = make_roles(log, ["cpu"], RolloutPlacement("hf"))
    roles.rewards = {"helpful": Scorer("helpful", log, [1.0, 2.0]), "harmless": Scorer("harmless", log, [3.0, math.inf])}
    roles.reward_source = build_reward_source("reward_models", config)
    rollouts = rollouts_of(["a"], 2, [1, 1])

    with pytest.raises(rl_stages.BadRewardError, match=r"objective 'harmless': 1 of 2"):
        rl_stages.score(roles, rollouts, "error")
    reward_matrix, valid = rl_stages.score(roles, rollouts, "skip")

    assert reward_matrix[0].tolist() == [1.0, 3.0] and reward_matrix[1, 0] == 2.0
    assert valid.tolist() == [True, False]
