"""The RL loop's weight-sync and sleep steps (``pipelines.rl_stages``) with fake actors instead of a Ray cluster.

A fake actor's ``method.remote(...)`` runs at once, logs (actor, method, arguments) and returns its result;
``ray.get`` and ``ray.put`` hand values through. The log shows the order in which the driver issued its calls.
"""

from types import SimpleNamespace

import pytest

from actors.launch import Roles
from pipelines import rl_stages
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

    def on_update(self, payload, seed):
        return {"loss/policy": 0.5}

    def on_load_weights(self, payload, version):
        self.version = version
        return version

    def on_weights_version(self):
        return self.version

    def on_generate(self, prompts, num_samples, seed):
        return Rollouts(prompts=[p for p in prompts for _ in range(num_samples)],
                        responses=["r"] * (len(prompts) * num_samples),
                        prompt_ids=[[1]] * (len(prompts) * num_samples),
                        response_ids=[[2]] * (len(prompts) * num_samples), num_samples=num_samples)


@pytest.fixture
def log(monkeypatch):
    monkeypatch.setattr(rl_stages.ray, "get", lambda refs, **kwargs: refs)
    monkeypatch.setattr(rl_stages.ray, "put", lambda value: value)
    monkeypatch.setattr(rl_stages, "_DEVICE_IDENTITIES", {})
    monkeypatch.setattr(rl_stages, "_WEIGHT_GROUPS", {})
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

    rl_stages.update(roles, {"advantages": None}, None, seed=1)
    rl_stages.sync_weights(roles, 1)

    assert position(log, "rollout0", "sleep") < position(log, "policy", "update") < position(
        log, "rollout0", "load_weights")
    assert calls(log, "load_weights") == [("rollout0", ({"transport": "cuda_ipc"}, 1))]  # same GPU: IPC handles


def test_engines_without_sleep_mode_are_not_put_to_sleep(log):
    for placement in (RolloutPlacement("hf"), RolloutPlacement("vllm", 1, sleep_mode=False)):
        rl_stages.update(make_roles(log, ["GPU-0"], placement), {}, None, seed=1)
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

    rollouts = rl_stages.generate(roles, ["a", "b"], 2, seed=0, version=3)

    assert rollouts.prompts == ["a", "a", "b", "b"]
    assert [args[-1] for _, args in calls(log, "join_weight_group")] == [3, 3, 3, 3, 3, 3]  # formed twice
    assert [(actor, args[1]) for actor, args in calls(log, "load_weights")] == [
        ("rollout0", 3), ("rollout1", 3), ("rollout0", 3), ("rollout1", 3)]
    assert len(calls(log, "generate")) == 4  # the batch was sampled again after the re-sync
