"""Rollouts with vLLM: the GPU backend (``rollout.backend: vllm``), same interface and semantics as the hf one.

Semantics shared with ``HFRolloutEngine``: prompts are tokenised with the policy's tokenizer and cut from the left
to ``max_prompt_length`` tokens (``base.truncated_prompt_batch``) before vLLM sees them, as token ids; each prompt is
one request with ``n`` samples, so the n samples of a prompt are contiguous; a response ends with eos when the
model emitted it (vLLM keeps the stop token) and is decoded by the same tokenizer without special tokens.
Seeds: prompt i gets its own seed drawn from ``seed`` (``request_seeds``) and vLLM gives sample j the seed + j, so
a seeded call repeats when it is made again with the same prompts (the same batch composition) on an engine in the
same state (weights, settings); vLLM promises no more (another batch can change the kernels' reduction order, and
so the samples) unless its batch-invariant mode is on. A temperature of 0 decodes greedily; vLLM refuses n > 1
then, so one decoding stands for the n identical samples. vLLM 0.26 reads ``top_k`` 0 as "off", as the config does.

Weights (step 8, sync) arrive in the trainer's Hugging Face naming and go to the model's own ``load_weights``
inside vLLM's workers (``pro_rl.rollout.vllm_worker``), by CUDA IPC handles when the engine shares the trainer's
GPU or by a NCCL broadcast otherwise (``pro_rl.rollout.weight_sync``). With ``tensor_parallel_size`` 1 the engine
runs in this process (``VLLM_ENABLE_V1_MULTIPROCESSING=0``): there is no second process to cross, so IPC handles
and tensors are handed to the worker as they are. With more, vLLM starts one worker process per GPU and only the
NCCL transport is used (names, dtypes and shapes are all that cross the process boundary).

Sleep mode (an engine on the policy's GPU): before each policy update the engine sleeps at level 2 — KV cache and
weights are released without a copy to the host, since the next sync overwrites every weight anyway. A weight load
wakes the weights first, copies, then wakes the KV cache, so the two are never allocated during the copy (vLLM's
advice for RLHF weight updates). Generating while asleep, or before weights were loaded after a sleep, is an error.

vLLM is imported only when an engine is built: CPU installs, tests and CI never import it.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

import torch

from pro_rl.rollout.base import (RolloutPlacement, Rollouts, SamplingSettings, prompt_truncation_monitor,
                                 truncated_prompt_batch)
from pro_rl.rollout.nccl_group import TensorMetadata
from pro_rl.rollout.vllm_requests import (request_seeds, response_logprobs_from_outputs,  # noqa: F401 (re-exported)
                                          rollouts_from_outputs, sampling_params_kwargs)
from pro_rl.rollout.vllm_worker import WORKER_EXTENSION
from pro_rl.rollout.weight_sync import IpcHandles

SLEEP_LEVEL = 2  # discard weights and KV cache: every sync rewrites all weights, so none is kept on the host
MEMORY_TAGS = ("weights", "kv_cache")


def import_vllm():
    """The ``vllm`` module, or an ImportError that says how to get it."""
    try:
        import vllm
    except ImportError as error:
        raise ImportError(
            "rollout.backend 'vllm' needs vLLM, which is not installed: pip install 'pro-rl[vllm]' on a CUDA machine "
            "(or set rollout.backend=hf)") from error
    return vllm


def llm_arguments(model: str, tensor_parallel_size: int, gpu_memory_utilization: float, enable_sleep_mode: bool,
                  dtype: str, seed: int, max_model_len: int, kv_cache_memory_bytes: int = 0) -> dict:
    """Keyword arguments of ``vllm.LLM``: the worker extension that loads weights, and one worker process per GPU
    (``mp``) when the model is split over several; a single-GPU engine runs in this process. A positive
    ``kv_cache_memory_bytes`` fixes the KV cache's size instead of vLLM's profiling of free memory.

    ``logprobs_mode="processed_logprobs"``: the log-probs vLLM reports for sampled tokens are taken after the
    temperature (and after top-p/top-k, which is why ``algorithm.off_policy_steps`` asks for those to be off), so
    they are the trainer's log-probs at the sampling temperature (``raw_logprobs``, vLLM's default, ignores it)."""
    arguments = dict(model=model, tensor_parallel_size=tensor_parallel_size,
                     gpu_memory_utilization=gpu_memory_utilization, enable_sleep_mode=enable_sleep_mode, dtype=dtype,
                     seed=seed, max_model_len=max_model_len, worker_extension_cls=WORKER_EXTENSION,
                     logprobs_mode="processed_logprobs")
    if tensor_parallel_size > 1:
        arguments["distributed_executor_backend"] = "mp"
    if kv_cache_memory_bytes > 0:
        arguments["kv_cache_memory_bytes"] = kv_cache_memory_bytes
    return arguments


def vllm_dtype(config) -> str:
    """The trainer's precision: bf16 with ``trainer.bf16``, else ``policy.dtype``, else fp32 (what an fp32 trainer
    syncs; vLLM's own "auto" would turn an fp32 checkpoint into 16 bits)."""
    if config.trainer.bf16:
        return "bfloat16"
    return config.policy.dtype if config.policy.dtype != "auto" else "float32"


def policy_for_vllm(model_path: str, policy_spec, directory: str | Path, texts=None):
    """(what vLLM loads, tokenizer): a hub id or directory as it is; a ``tiny:<arch>`` policy built from the config
    (its tokenizer trained on ``texts`` when given) and saved with its tokenizer into ``directory``, since vLLM loads
    models from files only."""
    from pro_rl.models.builders import build_policy, is_tiny, load_tokenizer

    spec = replace(policy_spec, model=model_path)
    if not is_tiny(model_path):
        return model_path, load_tokenizer(spec)
    model, tokenizer = build_policy(spec, texts)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return str(directory), tokenizer


class VLLMRolloutEngine:
    """A ``RolloutEngine`` on a vLLM ``LLM`` (GPU only).

    Args:
        model: what vLLM loads — a hub id or a directory in Hugging Face layout.
        tokenizer: the policy's tokenizer (prompt ids and response text come from it, as on the hf backend).
        settings: temperature, top-p, top-k, max_new_tokens (and min_new_tokens for benchmarks).
        max_prompt_length: prompts longer than this many tokens keep their last ``max_prompt_length`` tokens.
        tensor_parallel_size: GPUs the model is split over.
        gpu_memory_utilization: share of each GPU's memory vLLM may take (weights, activations, KV cache).
        enable_sleep_mode: allow ``sleep`` (an engine on the policy's GPU).
        dtype: vLLM's model dtype ('bfloat16', 'float32', ...).
        seed: vLLM's global seed (seeded calls of ``generate`` seed each request on top of it).
        kv_cache_memory_bytes: the KV cache's size; 0 lets vLLM size it from the GPU's free memory.
    """

    def __init__(self, model: str, tokenizer, settings: SamplingSettings, max_prompt_length: int = 512,
                 tensor_parallel_size: int = 1, gpu_memory_utilization: float = 0.5, enable_sleep_mode: bool = False,
                 dtype: str = "auto", seed: int = 0, kv_cache_memory_bytes: int = 0):
        if max_prompt_length < 1 or tensor_parallel_size < 1:
            raise ValueError(f"max_prompt_length ({max_prompt_length}) and tensor_parallel_size "
                             f"({tensor_parallel_size}) must be >= 1")
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0" if tensor_parallel_size == 1 else "1"
        self.vllm = import_vllm()
        self.tokenizer = tokenizer
        self.settings = settings
        self.max_prompt_length = max_prompt_length
        self.prompt_truncation = prompt_truncation_monitor()  # warns when prompts are cut
        self.tensor_parallel_size = tensor_parallel_size
        self.enable_sleep_mode = enable_sleep_mode
        self.device = torch.device("cuda", 0)  # the first GPU this process sees: tensor-parallel rank 0's
        self.llm = self.vllm.LLM(**llm_arguments(
            model, tensor_parallel_size, gpu_memory_utilization, enable_sleep_mode, dtype, seed,
            max_model_len=max_prompt_length + settings.max_new_tokens + 1,  # + 1: response_logprobs asks for one
            kv_cache_memory_bytes=kv_cache_memory_bytes))
        self.asleep: set[str] = set()  # memory tags released by sleep() and not woken yet
        self.weights_loaded = True  # False from a sleep (level 2 discards the weights) to the next load

    @classmethod
    def from_config(cls, model_path: str, config, directory: str | Path) -> "VLLMRolloutEngine":
        """The rollout role's engine for a run: sampling settings, tensor parallelism, memory share and sleep mode
        from the config; ``directory`` holds a tiny policy built from the config."""
        placement = RolloutPlacement.from_config(config)
        from pro_rl.models.tiny_corpus import policy_corpus

        model, tokenizer = policy_for_vllm(model_path, config.policy, directory, policy_corpus(config, model_path))
        return cls(model, tokenizer, SamplingSettings.from_config(config.rollout),
                   max_prompt_length=config.policy.max_prompt_length,
                   tensor_parallel_size=placement.tensor_parallel_size,
                   gpu_memory_utilization=config.rollout.gpu_memory_utilization,
                   enable_sleep_mode=placement.sleep_mode, dtype=vllm_dtype(config), seed=config.run.seed,
                   kv_cache_memory_bytes=config.rollout.kv_cache_memory_bytes)

    # --- generation ----------------------------------------------------------------------------------------------

    def generate(self, prompts: Sequence[str], num_samples: int, seed: Optional[int] = None,
                 behaviour_logprobs: bool = False) -> Rollouts:
        """``num_samples`` responses per prompt, the samples of a prompt contiguous; a seeded call
        repeats for the same prompts on an engine in the same state (see the module's note on seeds).
        ``behaviour_logprobs``: with the sampled tokens' log-probs as vLLM computed them while sampling (see
        ``llm_arguments``; bf16 engines differ from the trainer's float32 pass by the log-prob agreement test's
        tolerance)."""
        self._check_ready()
        prompts = list(prompts)
        prompt_ids = truncated_prompt_batch(self.tokenizer, prompts, self.max_prompt_length, self.prompt_truncation)
        sampling = [self.vllm.SamplingParams(**sampling_params_kwargs(self.settings, num_samples, prompt_seed,
                                                                      behaviour_logprobs))
                    for prompt_seed in request_seeds(seed, len(prompts))]
        outputs = self.llm.generate([{"prompt_token_ids": ids} for ids in prompt_ids], sampling, use_tqdm=False)
        return rollouts_from_outputs(prompts, outputs, prompt_ids, num_samples, self.tokenizer, behaviour_logprobs)

    def response_logprobs(self, prompt_ids: Sequence[Sequence[int]],
                          response_ids: Sequence[Sequence[int]]) -> list[list[float]]:
        """vLLM's log-probs (temperature 1, before any sampling transform) of fixed responses — to check that the
        engine holds the trainer's weights."""
        self._check_ready()
        # Each prompt_logprobs entry holds the actual token's log-prob, next to the most likely token's.
        sampling = self.vllm.SamplingParams(max_tokens=1, prompt_logprobs=1, detokenize=False)
        requests = [{"prompt_token_ids": list(prompt) + list(response)}
                    for prompt, response in zip(prompt_ids, response_ids)]
        outputs = self.llm.generate(requests, sampling, use_tqdm=False)
        return response_logprobs_from_outputs(outputs, prompt_ids, response_ids)

    # --- weights (step 8, sync) ----------------------------------------------------------------------------------

    def load_weights(self, state_dict: Mapping[str, torch.Tensor]) -> None:
        """Load tensors named as in the trainer's ``state_dict()`` (handed over in process; CPU tensors when
        ``tensor_parallel_size`` > 1, as they are then serialised to the worker processes)."""
        with self._loading_weights():
            self.llm.collective_rpc("load_named_tensors", args=(list(state_dict.items()),))

    def load_weights_from_ipc(self, handles: IpcHandles) -> None:
        """Copy the trainer's weights from CUDA IPC handles (the trainer shares this engine's GPU)."""
        if self.tensor_parallel_size != 1:
            raise ValueError(f"CUDA IPC weight sync needs tensor_parallel_size 1, this engine has "
                             f"{self.tensor_parallel_size}; its GPUs cannot all be the trainer's")
        with self._loading_weights():
            self.llm.collective_rpc("load_ipc_tensors", args=(handles,))

    def join_weight_group(self, host: str, port: int, rank_offset: int, world_size: int) -> None:
        """Join the trainer's NCCL weight group (``pro_rl.rollout.nccl_group``) with every worker of this engine."""
        self.llm.collective_rpc("join_weight_group", args=(host, port, rank_offset, world_size))

    def receive_weights(self, metadata: TensorMetadata) -> None:
        """Receive one NCCL broadcast of the trainer's weights (the trainer sends at the same time)."""
        with self._loading_weights():
            self.llm.collective_rpc("receive_weight_broadcast", args=(metadata,))

    # --- sleep mode ----------------------------------------------------------------------------------------------

    def sleep(self) -> None:
        """Release the KV cache and the weights (level 2) so that the policy update has the GPU's memory."""
        if not self.enable_sleep_mode:
            raise RuntimeError("this vLLM engine was built without sleep mode (the rollout role does not share the "
                               "policy's bundle: resources.rollout.colocate_with)")
        self.llm.sleep(level=SLEEP_LEVEL)
        self.asleep = set(MEMORY_TAGS)
        self.weights_loaded = False

    def wake_up(self, tags: Sequence[str] = MEMORY_TAGS) -> None:
        """Allocate the released memory again (``tags``: 'weights', 'kv_cache'); after a sleep the weights hold no
        values until the next weight load."""
        waking = [tag for tag in tags if tag in self.asleep]
        if waking:
            self.llm.wake_up(tags=waking)
            self.asleep -= set(waking)

    @contextmanager
    def _loading_weights(self) -> Iterator[None]:
        """Weights awake for the copy, then the KV cache; cached prefixes of the old weights are dropped."""
        self.wake_up(tags=("weights",))
        yield
        self.wake_up()
        self.llm.reset_prefix_cache()
        self.weights_loaded = True

    def _check_ready(self) -> None:
        if self.asleep or not self.weights_loaded:
            raise RuntimeError("the vLLM engine is asleep or lost its weights in sleep(); load weights (the sync "
                               "after the policy update does) before generating")
