"""VLLMRolloutEngine without vLLM: a fake ``vllm`` module stands in for it (vLLM itself is tested in test_vllm_gpu).

The fake ``LLM`` answers each request deterministically and records what it was given, so these tests pin down
everything on our side of the vLLM API: SamplingParams arguments, left-truncated prompt ids, the Rollouts layout,
weight loading through ``collective_rpc``, the sleep/wake order around a weight load, the error without vLLM, and
config validation of the backend.
"""

import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional

import pytest
import torch

from actors.common import actor_device
from pro_rl.config import ConfigError, load_config
from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.rollout import RolloutEngine, RolloutPlacement, SamplingSettings, VLLMRolloutEngine
from pro_rl.rollout.vllm_engine import (
    import_vllm,
    llm_arguments,
    request_seeds,
    response_logprobs_from_outputs,
    rollouts_from_outputs,
    sampling_params_kwargs,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
TINY_RL_CONFIG = REPO_ROOT / "configs" / "tiny" / "pro_morlhf.yaml"
PROMPTS = ["Human: tell me a joke\n\nAssistant:", "Human: how do I bake bread?\n\nAssistant:", "Hi"]
SETTINGS = SamplingSettings(temperature=0.8, top_p=0.95, top_k=0, max_new_tokens=5)


# --- a fake vllm module -------------------------------------------------------------------------------------------

# Keyword arguments the real classes of vLLM 0.26.0 take (SamplingParams' fields; the EngineArgs fields we use, all
# present in vllm/engine/arg_utils.py): like them, the fakes refuse any other name.
SAMPLING_PARAMS_FIELDS = {
    "n", "presence_penalty", "frequency_penalty", "repetition_penalty", "temperature", "top_p", "top_k", "min_p",
    "seed", "stop", "stop_token_ids", "ignore_eos", "max_tokens", "min_tokens", "logprobs", "prompt_logprobs",
    "logprob_token_ids", "flat_logprobs", "detokenize", "skip_special_tokens", "spaces_between_special_tokens",
    "include_stop_str_in_output", "output_kind", "skip_clone", "structured_outputs", "logit_bias"}
ENGINE_ARGS_USED = {"model", "tensor_parallel_size", "gpu_memory_utilization", "enable_sleep_mode", "dtype", "seed",
                    "max_model_len", "worker_extension_cls", "distributed_executor_backend", "kv_cache_memory_bytes",
                    "logprobs_mode"}
LOGPROBS_MODES = {"raw_logprobs", "raw_logits", "processed_logprobs", "processed_logits"}


def refuse_unknown(kwargs: dict, known: set, owner: str) -> None:
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"{owner}: unexpected keyword arguments {unknown}")


class FakeSamplingParams:
    """Checks as vLLM 0.26.0's SamplingParams does: known fields only, temperature in [0, 2]."""

    def __init__(self, **kwargs):
        refuse_unknown(kwargs, SAMPLING_PARAMS_FIELDS, "SamplingParams")
        if not 0.0 <= kwargs.get("temperature", 1.0) <= 2.0:
            raise ValueError(f"temperature must be in [0, 2], got {kwargs['temperature']}.")
        self.kwargs = kwargs


@dataclass
class FakeCompletion:
    token_ids: List[int]
    text: str = ""
    logprobs: Optional[list] = None  # one {token id: FakeLogprob} per step, when the request asked for logprobs


@dataclass
class FakeLogprob:
    logprob: float


@dataclass
class FakeRequestOutput:
    outputs: List[FakeCompletion]
    prompt_logprobs: Optional[list] = None


class FakeLLM:
    """Request i, sample j: tokens 10 + i, 20 + j, 30, ... up to max_tokens; sample 1 stops early with eos (2)."""

    EOS = 2

    def __init__(self, **kwargs):
        refuse_unknown(kwargs, ENGINE_ARGS_USED, "LLM")
        if kwargs.get("logprobs_mode", "raw_logprobs") not in LOGPROBS_MODES:
            raise ValueError(f"unknown logprobs_mode {kwargs['logprobs_mode']}")
        self.kwargs = kwargs
        self.requests: list = []
        self.calls: list = []  # (method, arguments) in call order

    def generate(self, prompts, sampling_params, use_tqdm=True):
        params = sampling_params if isinstance(sampling_params, list) else [sampling_params] * len(prompts)
        self.requests.append((prompts, params))
        outputs = []
        for i, (prompt, request) in enumerate(zip(prompts, params)):
            kwargs = request.kwargs
            if kwargs.get("prompt_logprobs") is not None:
                ids = prompt["prompt_token_ids"]
                entries = [None] + [{token: FakeLogprob(-0.5 * position)} for position, token in enumerate(ids)][1:]
                outputs.append(FakeRequestOutput([FakeCompletion([self.EOS])], entries))
                continue
            completions = []
            for j in range(kwargs["n"]):
                ids = [10 + i, 20 + j] + [30 + k for k in range(kwargs["max_tokens"] - 2)]
                ids = ids[:3] + [self.EOS] if j == 1 else ids
                steps = None
                if kwargs.get("logprobs") is not None:  # the sampled token's log-prob: -(i + j/10 + step/100)
                    steps = [{token: FakeLogprob(-(i + j / 10 + step / 100))} for step, token in enumerate(ids)]
                completions.append(FakeCompletion(ids, logprobs=steps))
            outputs.append(FakeRequestOutput(completions))
        return outputs

    def collective_rpc(self, method, args=()):
        self.calls.append((method, args))
        return [len(args[0]) if args else None]

    def sleep(self, level):
        self.calls.append(("sleep", level))

    def wake_up(self, tags=None):
        self.calls.append(("wake_up", tags))

    def reset_prefix_cache(self):
        self.calls.append(("reset_prefix_cache", None))


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams = FakeLLM, FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "1")  # restored after the test; the engine sets it
    return module


@pytest.fixture(scope="module")
def tokenizer():
    return train_tiny_tokenizer()


def make_engine(tokenizer, settings=SETTINGS, **kwargs) -> VLLMRolloutEngine:
    return VLLMRolloutEngine("some/model", tokenizer, settings, **kwargs)


# --- pure mappings ------------------------------------------------------------------------------------------------

def test_sampled_settings_map_to_sampling_params():
    assert sampling_params_kwargs(SETTINGS, num_samples=4, seed=123) == dict(
        n=4, temperature=0.8, top_p=0.95, top_k=0, max_tokens=5, min_tokens=0, seed=123, detokenize=False)


def test_greedy_asks_for_one_unseeded_sample():
    greedy = SamplingSettings(temperature=0.0, top_p=0.9, top_k=7, max_new_tokens=9)
    assert sampling_params_kwargs(greedy, num_samples=3, seed=5) == dict(
        n=1, temperature=0.0, top_p=1.0, top_k=0, max_tokens=9, min_tokens=0, seed=None, detokenize=False)


def test_top_k_zero_means_off_in_vllm_too_and_other_values_pass_through():
    assert sampling_params_kwargs(SamplingSettings(top_k=0), 2, None)["top_k"] == 0  # vLLM 0.26: 0 (or -1) is off
    assert sampling_params_kwargs(SamplingSettings(top_k=40), 2, None)["top_k"] == 40
    fixed_length = SamplingSettings(max_new_tokens=16, min_new_tokens=16)
    assert sampling_params_kwargs(fixed_length, 1, None)["min_tokens"] == 16


def test_request_seeds_repeat_for_a_seed_and_differ_between_prompts():
    assert request_seeds(None, 3) == [None, None, None]
    seeds = request_seeds(7, 50)
    assert seeds == request_seeds(7, 50) and seeds != request_seeds(8, 50)
    assert len(set(seeds)) == 50 and all(0 <= seed < 2 ** 31 for seed in seeds)


def test_llm_arguments_one_gpu_in_process_and_tensor_parallel_in_worker_processes():
    one = llm_arguments("dir", 1, 0.3, True, "bfloat16", 0, max_model_len=640)
    assert one == dict(model="dir", tensor_parallel_size=1, gpu_memory_utilization=0.3, enable_sleep_mode=True,
                       dtype="bfloat16", seed=0, max_model_len=640,
                       worker_extension_cls="pro_rl.rollout.vllm_worker.WeightSyncWorkerExtension",
                       logprobs_mode="processed_logprobs")
    assert llm_arguments("dir", 2, 0.3, False, "auto", 0, 640)["distributed_executor_backend"] == "mp"
    assert "kv_cache_memory_bytes" not in one
    assert llm_arguments("dir", 1, 0.3, True, "auto", 0, 640, kv_cache_memory_bytes=2 ** 30)[
        "kv_cache_memory_bytes"] == 2 ** 30


def test_the_fake_refuses_what_vllm_refuses():
    with pytest.raises(TypeError, match="max_new_tokens"):
        FakeSamplingParams(n=1, max_new_tokens=4)
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        FakeSamplingParams(n=1, temperature=2.5)
    with pytest.raises(TypeError, match="kv_cache_size"):
        FakeLLM(model="m", kv_cache_size=1)
    assert FakeSamplingParams(temperature=2.0, n=1).kwargs["temperature"] == 2.0


def test_actor_devices_always_name_their_gpu_index(monkeypatch):
    """vLLM's PyNcclCommunicator asserts its device equals the tensor's, and ``cuda`` is not ``cuda:0``."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)
    assert actor_device(0.5) == torch.device("cuda", 3) and str(actor_device(1)) == "cuda:3"
    assert actor_device(1) != torch.device("cuda")
    assert actor_device(0) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert actor_device(1) == torch.device("cpu")


def test_rollouts_from_outputs_rejects_a_wrong_number_of_completions(tokenizer):
    outputs = [FakeRequestOutput([FakeCompletion([5]), FakeCompletion([6])])]
    with pytest.raises(ValueError, match="2 completions"):
        rollouts_from_outputs(["p"], outputs, [[4]], num_samples=3, tokenizer=tokenizer)


def test_response_logprobs_are_read_at_the_response_positions():
    entries = [None, {7: FakeLogprob(-1.0)}, {8: FakeLogprob(-2.0)}, {9: FakeLogprob(-3.0), 4: FakeLogprob(-0.1)}]
    output = FakeRequestOutput([FakeCompletion([1])], entries)
    assert response_logprobs_from_outputs([output], [[6, 7]], [[8, 9]]) == [[-2.0, -3.0]]


# --- the engine on the fake ---------------------------------------------------------------------------------------

def test_engine_arguments_pass_the_strict_fake_and_a_kv_cache_size_reaches_vllm(fake_vllm, tokenizer):
    engine = make_engine(tokenizer, kv_cache_memory_bytes=123)
    assert engine.llm.kwargs["kv_cache_memory_bytes"] == 123
    engine.generate(PROMPTS, num_samples=2, seed=1)
    engine.response_logprobs([[4, 5]], [[6]])


def test_a_temperature_vllm_refuses_fails_at_the_request(fake_vllm, tokenizer):
    engine = make_engine(tokenizer, SamplingSettings(temperature=2.5, max_new_tokens=4))
    with pytest.raises(ValueError, match="temperature"):
        engine.generate(PROMPTS, num_samples=1)


def test_generate_sends_left_truncated_token_prompts_and_one_seeded_request_per_prompt(fake_vllm, tokenizer):
    engine = make_engine(tokenizer, max_prompt_length=3)

    engine.generate(PROMPTS, num_samples=2, seed=11)

    (requests, params), = engine.llm.requests
    assert requests == [{"prompt_token_ids": tokenizer(prompt)["input_ids"][-3:]} for prompt in PROMPTS]
    assert len(tokenizer(PROMPTS[0])["input_ids"]) > 3  # the first prompt was really cut
    assert [request.kwargs for request in params] == [sampling_params_kwargs(SETTINGS, 2, seed)
                                                      for seed in request_seeds(11, len(PROMPTS))]


def test_rollouts_hold_n_contiguous_samples_per_prompt_with_eos_and_decoded_text(fake_vllm, tokenizer):
    engine = make_engine(tokenizer)

    rollouts = engine.generate(PROMPTS, num_samples=3, seed=0)

    assert isinstance(engine, RolloutEngine)
    assert len(rollouts) == 9 and rollouts.num_samples == 3 and rollouts.num_prompts == 3
    assert rollouts.prompts == [prompt for prompt in PROMPTS for _ in range(3)]
    assert rollouts.prompt_ids == [tokenizer(prompt)["input_ids"] for prompt in PROMPTS for _ in range(3)]
    assert rollouts.response_ids[:3] == [[10, 20, 30, 31, 32], [10, 21, 30, FakeLLM.EOS], [10, 22, 30, 31, 32]]
    assert rollouts.response_ids[3] == [11, 20, 30, 31, 32]  # prompt 1 starts right after prompt 0's samples
    assert rollouts.responses == [tokenizer.decode(ids, skip_special_tokens=True) for ids in rollouts.response_ids]
    assert rollouts.responses[1] == tokenizer.decode([10, 21, 30])  # eos kept in the ids, not in the text


def test_greedy_generation_repeats_the_one_decoding_n_times(fake_vllm, tokenizer):
    engine = make_engine(tokenizer, SamplingSettings(temperature=0.0, max_new_tokens=4))

    rollouts = engine.generate(PROMPTS[:2], num_samples=3)

    assert [request.kwargs["n"] for request in engine.llm.requests[0][1]] == [1, 1]
    assert rollouts.response_ids == [[10, 20, 30, 31]] * 3 + [[11, 20, 30, 31]] * 3


def test_one_gpu_engine_runs_in_process_with_the_weight_loading_worker_extension(fake_vllm, tokenizer):
    import os

    engine = make_engine(tokenizer, max_prompt_length=100, gpu_memory_utilization=0.4, dtype="bfloat16", seed=3)

    assert os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"
    # Room for the longest prompt and response, and the one token response_logprobs asks for after them.
    assert engine.llm.kwargs == llm_arguments("some/model", 1, 0.4, False, "bfloat16", 3, max_model_len=106)


def test_load_weights_passes_every_tensor_to_the_workers(fake_vllm, tokenizer):
    engine = make_engine(tokenizer)
    state_dict = {"model.embed_tokens.weight": torch.randn(4, 2), "model.norm.weight": torch.ones(2)}

    engine.load_weights(state_dict)

    (method, (weights,)), = [call for call in engine.llm.calls if call[0] == "load_named_tensors"]
    assert [name for name, _ in weights] == list(state_dict)
    assert all(tensor is state_dict[name] for name, tensor in weights)
    assert engine.llm.calls[-1] == ("reset_prefix_cache", None)  # prefixes cached under the old weights are dropped


def test_ipc_and_nccl_weights_go_to_their_worker_methods(fake_vllm, tokenizer):
    engine = make_engine(tokenizer)
    handles = {"w": ("rebuild", (1, 2))}
    metadata = [("w", "bfloat16", (2, 3))]

    engine.load_weights_from_ipc(handles)
    engine.join_weight_group("10.0.0.1", 29600, 3, 5)
    engine.receive_weights(metadata)

    rpc = [call for call in engine.llm.calls if call[0] != "reset_prefix_cache"]
    assert rpc == [("load_ipc_tensors", (handles,)), ("join_weight_group", ("10.0.0.1", 29600, 3, 5)),
                   ("receive_weight_broadcast", (metadata,))]
    with pytest.raises(ValueError, match="tensor_parallel_size 1"):
        make_engine(tokenizer, tensor_parallel_size=2).load_weights_from_ipc(handles)


def test_sleep_then_a_weight_load_wakes_weights_before_the_copy_and_the_kv_cache_after(fake_vllm, tokenizer):
    engine = make_engine(tokenizer, enable_sleep_mode=True)
    engine.sleep()

    with pytest.raises(RuntimeError, match="asleep"):
        engine.generate(PROMPTS, 2, seed=0)
    engine.load_weights_from_ipc({})

    assert engine.llm.calls == [("sleep", 2), ("wake_up", ["weights"]), ("load_ipc_tensors", ({},)),
                                ("wake_up", ["kv_cache"]), ("reset_prefix_cache", None)]
    assert len(engine.generate(PROMPTS, 2, seed=0)) == 6


def test_waking_without_a_weight_load_still_refuses_to_generate(fake_vllm, tokenizer):
    engine = make_engine(tokenizer, enable_sleep_mode=True)
    engine.sleep()
    engine.wake_up()

    assert engine.llm.calls[-1] == ("wake_up", ["weights", "kv_cache"])
    with pytest.raises(RuntimeError, match="lost its weights"):
        engine.generate(PROMPTS, 2)


def test_sleep_needs_sleep_mode(fake_vllm, tokenizer):
    with pytest.raises(RuntimeError, match="without sleep mode"):
        make_engine(tokenizer).sleep()


def test_response_logprobs_score_prompt_plus_response(fake_vllm, tokenizer):
    engine = make_engine(tokenizer)

    logprobs = engine.response_logprobs([[5, 6, 7]], [[8, 9]])

    (requests, (params,)), = engine.llm.requests
    assert requests == [{"prompt_token_ids": [5, 6, 7, 8, 9]}]
    assert params.kwargs == dict(max_tokens=1, prompt_logprobs=1, detokenize=False)
    assert logprobs == [[-1.5, -2.0]]  # the fake's log-prob of position p is -0.5 p


def test_without_vllm_the_error_says_how_to_install_it(monkeypatch, tokenizer):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` fail
    monkeypatch.setenv("VLLM_ENABLE_V1_MULTIPROCESSING", "1")

    with pytest.raises(ImportError, match=r"pip install 'pro-rl\[vllm\]'"):
        import_vllm()
    with pytest.raises(ImportError, match="rollout.backend=hf"):
        make_engine(tokenizer)


def test_importing_the_project_never_imports_vllm():
    """Every module of pro_rl, actors and pipelines imports on a machine without vLLM, and none imports it."""
    script = (
        "import importlib, pkgutil, sys\n"
        "for package in ('pro_rl', 'actors', 'pipelines'):\n"
        "    module = importlib.import_module(package)\n"
        "    for info in pkgutil.walk_packages(module.__path__, package + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "print(sorted(name for name in sys.modules if name == 'vllm' or name.startswith('vllm.')))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- config -------------------------------------------------------------------------------------------------------

# the tiny RL config names trained artefacts (runs/tiny/...); these stand in for them on a fresh clone
STAND_INS = ["policy.model=tiny:gpt2", "weights.mode=uniform", "orchestrator.path=''",
             *[f"reward_models.{k}.model=pro_rl.data.toy_world:{name}_reward"
               for k, name in enumerate(("helpful", "harmless", "humor"))]]


def gpu_overrides(*extra: str) -> list:
    return [*STAND_INS, "run.device=cuda",
            "resources.policy.num_gpus=0.4", "resources.reference.num_gpus=0.1", "resources.rollout.num_gpus=0.3",
            "rollout.backend=vllm", *extra]


def test_vllm_backend_on_cpu_is_a_config_error_that_suggests_hf():
    with pytest.raises(ConfigError, match=r"key 'rollout.backend'.*run.device=cuda.*rollout.backend=hf"):
        load_config(TINY_RL_CONFIG, [*STAND_INS, "rollout.backend=vllm"])


@pytest.mark.parametrize("override, key", [
    ("rollout.tensor_parallel_size=0", "rollout.tensor_parallel_size"),
    ("rollout.tensor_parallel_size=2", "rollout.tensor_parallel_size"),  # the role has 0.3 of one GPU
    ("rollout.gpu_memory_utilization=0", "rollout.gpu_memory_utilization"),
    ("rollout.gpu_memory_utilization=1.5", "rollout.gpu_memory_utilization"),
])
def test_vllm_engine_settings_are_checked(override, key):
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_config(TINY_RL_CONFIG, gpu_overrides(override))


def test_vllm_temperature_above_2_is_a_config_error():
    with pytest.raises(ConfigError, match=r"key 'rollout.temperature'.*above 2"):
        load_config(TINY_RL_CONFIG, gpu_overrides("rollout.temperature=2.5"))
    assert load_config(TINY_RL_CONFIG, gpu_overrides("rollout.temperature=2")).rollout.temperature == 2
    assert load_config(TINY_RL_CONFIG, [*STAND_INS, "rollout.temperature=2.5"]).rollout.temperature == 2.5  # hf


def test_kv_cache_memory_bytes_is_a_non_negative_config_key():
    assert load_config(TINY_RL_CONFIG, gpu_overrides("rollout.kv_cache_memory_bytes=1000")).rollout \
        .kv_cache_memory_bytes == 1000
    with pytest.raises(ConfigError, match="key 'rollout.kv_cache_memory_bytes'"):
        load_config(TINY_RL_CONFIG, gpu_overrides("rollout.kv_cache_memory_bytes=-1"))


def test_tensor_parallel_engines_need_as_many_gpus_each():
    config = load_config(TINY_RL_CONFIG, gpu_overrides("resources.rollout.num_gpus=2",
                                                       "rollout.tensor_parallel_size=2"))
    assert RolloutPlacement.from_config(config) == RolloutPlacement("vllm", 2, sleep_mode=False)


def test_sleep_mode_is_on_for_a_vllm_engine_in_the_policys_bundle_only():
    colocated = load_config(TINY_RL_CONFIG, gpu_overrides("resources.rollout.colocate_with=policy"))
    apart = load_config(TINY_RL_CONFIG, gpu_overrides())
    hf = load_config(TINY_RL_CONFIG, STAND_INS)

    assert RolloutPlacement.from_config(colocated) == RolloutPlacement("vllm", 1, sleep_mode=True)
    assert RolloutPlacement.from_config(apart) == RolloutPlacement("vllm", 1, sleep_mode=False)
    assert RolloutPlacement.from_config(hf) == RolloutPlacement("hf", 1, sleep_mode=False)


# --- behaviour log-probs (algorithm.off_policy_steps: 1) ----------------------------------------------------------

def test_behaviour_logprobs_ask_vllm_for_the_sampled_tokens_only():
    assert sampling_params_kwargs(SETTINGS, 2, 1, behaviour_logprobs=True)["logprobs"] == 0
    assert "logprobs" not in sampling_params_kwargs(SETTINGS, 2, 1)


def test_rollouts_carry_the_sampled_tokens_logprobs_in_sample_order(fake_vllm, tokenizer):
    engine = make_engine(tokenizer)

    rollouts = engine.generate(PROMPTS, num_samples=3, seed=0, behaviour_logprobs=True)

    assert engine.llm.kwargs["logprobs_mode"] == "processed_logprobs"  # after the temperature
    assert [len(row) for row in rollouts.logprobs] == [len(ids) for ids in rollouts.response_ids]
    assert rollouts.logprobs[1] == pytest.approx([-0.1, -0.11, -0.12, -0.13])  # prompt 0, sample 1 (eos after 3)
    assert rollouts.logprobs[5] == pytest.approx([-1.2, -1.21, -1.22, -1.23, -1.24])  # prompt 1, sample 2
    assert engine.generate(PROMPTS, num_samples=3, seed=0).logprobs is None


def test_off_policy_with_vllm_needs_top_p_1_and_top_k_0():
    with pytest.raises(ConfigError, match=r"key 'algorithm.off_policy_steps'.*top_p=1"):
        load_config(TINY_RL_CONFIG, gpu_overrides("algorithm.off_policy_steps=1", "rollout.top_p=0.9"))
    with pytest.raises(ConfigError, match="key 'algorithm.off_policy_steps'"):
        load_config(TINY_RL_CONFIG, gpu_overrides("algorithm.off_policy_steps=1", "rollout.top_p=1", "rollout.top_k=5"))
    config = load_config(TINY_RL_CONFIG, gpu_overrides("algorithm.off_policy_steps=1", "rollout.top_p=1"))
    assert config.algorithm.off_policy_steps == 1
    with pytest.raises(ConfigError, match="key 'algorithm.off_policy_steps'"):
        load_config(TINY_RL_CONFIG, [*STAND_INS, "algorithm.off_policy_steps=2"])
